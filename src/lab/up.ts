// Bringing a lab up from inside a program: the one way the CLI (`tapyard lab up`), the library
// (labUp), the tests and the benchmarks all start a lab. The caller may choose the id before
// anything is made, so that whatever happens next it knows what to take down. A stop signal or a
// failure half-way removes exactly what was made so far, then the promise rejects.

import { type LabUpConfig, readLabUp } from '../config/lab.js';
import { TapyardError } from '../error.js';
import { STOP_REQUESTS } from '../stop-signals.js';
import { buildLab, newLabId, readLabState, teardown } from './builder.js';

export interface LabUpOptions {
  /** The lab's id (1-6 lowercase letters or digits); a fresh one when absent. */
  readonly id?: string;
  /** Each KEY=VALUE as it is recorded. */
  readonly onRecord?: (key: string, value: string) => void;
  /**
   * Whether a stop signal came; when absent, SIGINT, SIGTERM and SIGHUP are listened to while the
   * lab is being built (and only then).
   */
  readonly interrupted?: () => boolean;
}

export interface RunningLab {
  readonly id: string;
  /** What the lab recorded: NS_EXT, NS_HV, WIRE_IF, GUEST_IP, ... (`tapyard lab up` prints it). */
  readonly env: Readonly<Record<string, string>>;
  /** Remove it; the last lines each forwarder wrote. */
  down(): string[];
}

/**
 * `tapyard lab up` in this process: what follows `lab up` (KIND|FILE and its flags, e.g.
 * ['macvtap', '--mode', 'vepa']), or that already read. Needs root. Rejects with EINTERRUPTED
 * after a stop signal, with ELAB after a failure (in both cases the lab is gone).
 */
export async function bringUpLab(what: readonly string[] | LabUpConfig, o: LabUpOptions = {}): Promise<RunningLab> {
  const config = Array.isArray(what) ? readLabUp(what as readonly string[]) : (what as LabUpConfig);
  if (config === null) throw new TapyardError('EUSAGE', 'lab up was asked for its help, not for a lab');
  const id = o.id ?? config.id ?? newLabId();
  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    signal ??= s;
  };
  if (o.interrupted === undefined) for (const s of STOP_REQUESTS) process.on(s, onSignal);
  const interrupted = () => signal !== null || o.interrupted?.() === true;
  // A lab of this id that exists already is someone else's: a failure then removes nothing.
  const ours = readLabState(id) === null;
  try {
    const env = await buildLab(config.topology, {
      id,
      kind: config.kind ?? config.topology.name,
      interrupted,
      ...(o.onRecord === undefined ? {} : { onRecord: o.onRecord }),
    });
    if (interrupted()) throw new TapyardError('EINTERRUPTED', 'interrupted');
    return { id, env, down: () => teardown(id) };
  } catch (err) {
    if (ours && readLabState(id) !== null) {
      teardown(id);
      if (interrupted())
        throw new TapyardError('EINTERRUPTED', `lab up interrupted by ${signal ?? 'a stop signal'}, removed lab ${id}`);
      throw new TapyardError('ELAB', `lab up failed, removed lab ${id}: ${(err as Error).message}`);
    }
    throw err;
  } finally {
    for (const s of STOP_REQUESTS) process.off(s, onSignal);
  }
}
