// Types for scripts/floors.mjs (plain JavaScript, so that scripts/lint runs it without a build).

export interface FloorException {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface Module {
  readonly file: string;
  readonly text: string;
}

export const FLOORS: readonly (readonly string[])[];
export const EXCEPTIONS: readonly FloorException[];
export function roomOf(file: string): string | null;
export function importsOf(file: string, text: string): string[];
export function floorProblems(
  modules: readonly Module[],
  floors?: readonly (readonly string[])[],
  exceptions?: readonly FloorException[],
): string[];
export function readModules(root: string): Module[];
