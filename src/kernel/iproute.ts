// iproute2 (`ip`, `bridge`) in one place: run in a namespace (-n) or this one, its JSON (-j) parsed
// into the few typed shapes tapyard reads, and a failure as one sentence that ends with iproute2's
// own last line. Synchronous where the caller must not go on before the answer (opening a port, a
// lab step), asynchronous where the forwarding loop must not wait for it.

import { execFile, execFileSync } from 'node:child_process';
import { TapyardError } from '../error.js';

export type IprouteTool = 'ip' | 'bridge';

export interface IprouteOptions {
  /** The namespace to run in (`-n`); absent or null: this process's own. */
  readonly netns?: string | null | undefined;
  readonly tool?: IprouteTool;
  readonly timeoutMs?: number;
}

/** A failed iproute2 run; `why` is what iproute2 said (its last line), or why it did not run. */
export class IprouteError extends TapyardError {
  constructor(
    readonly why: string,
    command: string,
  ) {
    super('EIPROUTE', `${command}: ${why}`);
  }
}

/** One link of `ip -j [-d] [-s] link show`, the fields tapyard reads. */
export interface IpLink {
  readonly ifindex: number;
  readonly ifname: string;
  readonly address: string;
  readonly flags: readonly string[];
  readonly operstate?: string;
  readonly master?: string;
  /** The lower of a macvlan/macvtap/vlan. */
  readonly link?: string;
  readonly link_type?: string;
  /** With -d. */
  readonly linkinfo?: { readonly info_kind?: string; readonly info_data?: { type?: string; mode?: string } };
  /** With -s. */
  readonly stats64?: { readonly rx: Readonly<Record<string, number>>; readonly tx: Readonly<Record<string, number>> };
}

const argvOf = (args: readonly string[], o: IprouteOptions): string[] => [
  ...(o.netns === undefined || o.netns === null ? [] : ['-n', o.netns]),
  ...args,
];

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

function failure(tool: IprouteTool, argv: readonly string[], err: unknown, stderr: string): IprouteError {
  const command = `${tool} ${argv.join(' ')}`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new IprouteError(`cannot run ${tool} (is iproute2 installed?)`, command);
  return new IprouteError(lastLine(stderr) || (err as Error).message, command);
}

/** Run it to the end; its stdout. Throws IprouteError. */
export function iproute(args: readonly string[], o: IprouteOptions = {}): string {
  const tool = o.tool ?? 'ip';
  const argv = argvOf(args, o);
  try {
    return execFileSync(tool, argv, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(o.timeoutMs === undefined ? {} : { timeout: o.timeoutMs }),
    });
  } catch (err) {
    throw failure(tool, argv, err, String((err as { stderr?: unknown }).stderr ?? ''));
  }
}

/** The same without holding the event loop; rejects with IprouteError. */
export function iprouteAsync(args: readonly string[], o: IprouteOptions = {}): Promise<string> {
  const tool = o.tool ?? 'ip';
  const argv = argvOf(args, o);
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool,
      argv,
      { encoding: 'utf8', ...(o.timeoutMs === undefined ? {} : { timeout: o.timeoutMs }) },
      (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(failure(tool, argv, err, stderr))),
    );
    child.stdin?.end();
  });
}

function parse<T>(text: string, command: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new IprouteError('printed what tapyard does not understand', command);
  }
}

/** `ip -j ARGS` (or `bridge -j ARGS`), parsed. */
export function iprouteJson<T>(args: readonly string[], o: IprouteOptions = {}): T {
  return parse<T>(iproute(['-j', ...args], o), `${o.tool ?? 'ip'} -j ${args.join(' ')}`);
}

export async function iprouteJsonAsync<T>(args: readonly string[], o: IprouteOptions = {}): Promise<T> {
  return parse<T>(await iprouteAsync(['-j', ...args], o), `${o.tool ?? 'ip'} -j ${args.join(' ')}`);
}

export interface LinkQuery extends IprouteOptions {
  /** -d: the link's kind and its kind's settings (linkinfo). */
  readonly details?: boolean;
  /** -s: its counters (stats64). */
  readonly stats?: boolean;
}

const linkArgs = (ifname: string, q: LinkQuery) => [
  ...(q.details === true ? ['-d'] : []),
  ...(q.stats === true ? ['-s'] : []),
  'link',
  'show',
  'dev',
  ifname,
];

function onlyLink(links: readonly IpLink[], ifname: string): IpLink {
  const link = links[0];
  if (link === undefined) throw new IprouteError('no such device', `ip link show dev ${ifname}`);
  return link;
}

/** `ip [-n NS] -j [-d] [-s] link show dev IFNAME`. Throws IprouteError. */
export function showLink(ifname: string, q: LinkQuery = {}): IpLink {
  return onlyLink(iprouteJson<IpLink[]>(linkArgs(ifname, q), q), ifname);
}

export async function showLinkAsync(ifname: string, q: LinkQuery = {}): Promise<IpLink> {
  return onlyLink(await iprouteJsonAsync<IpLink[]>(linkArgs(ifname, q), q), ifname);
}

/** The named network namespaces (`ip -j netns list`, which prints nothing when there are none). */
export function namespaces(): string[] {
  const out = iproute(['-j', 'netns', 'list']).trim();
  return out === '' ? [] : parse<{ name: string }[]>(out, 'ip -j netns list').map((n) => n.name);
}
