// The kernel's own word on where a frame died: every `skb:kfree_skb` in the namespaces we name,
// with its drop reason (SKB_DROP_REASON_*) and the function that freed it.
//
// The tracepoint is global and other programs share the machine, so a drop is kept only when the
// skb's device lives in one of our namespaces: the BPF program reads skb->dev->nd_net's inode
// number and compares it with the inodes of /run/netns/NAME, in the kernel, before anything is
// printed. Time is never used to attribute a drop. The first 24 bytes of the frame (from the MAC
// header) come along, so a caller can also tell which of its own frames it was.
//
// Why bpftrace (Debian's package) and not libbpf: the program is a dozen lines that need the
// kernel's struct layout (BTF), which bpftrace reads at run time; libbpf would need clang, a
// generated vmlinux.h and a C loader built on this machine. bpftrace 0.17 (Debian 12) has no
// tp_btf/rawtracepoint probes and reads the tracepoint's id from tracefs; where tracefs is not
// mounted we mount it inside a private mount namespace of our own (unshare -m), so the machine's
// mounts are not touched. Attaching a BPF program to a tracepoint changes nothing for other
// users of it (no ftrace event is enabled).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { TapyardError } from '../error.js';

/** One drop the kernel reported in one of the watched namespaces. */
export interface KernelDrop {
  /** SKB_DROP_REASON_* without the prefix, e.g. OTHERHOST, UNHANDLED_PROTO. */
  reason: string;
  /** The function that freed the skb (compiler suffixes such as .constprop.0 removed). */
  fn: string;
  /** The namespace's inode number and the device the skb was on. */
  netns: number;
  ifindex: number;
  device: string;
  /** The frame's first 24 bytes from its MAC header. */
  head: Uint8Array;
}

const TRACEFS = '/sys/kernel/tracing';
const FORMAT = `${TRACEFS}/events/skb/kfree_skb/format`;
const START_MS = 15000;

/** Why drops cannot be watched here, as one sentence; null when they can. */
export function dropWatchUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "watching the kernel's drops needs root (BPF on skb:kfree_skb)";
  if (!existsSync('/sys/kernel/btf/vmlinux'))
    return 'this kernel has no BTF (/sys/kernel/btf/vmlinux), which bpftrace needs';
  if (!onPath('bpftrace')) return "bpftrace is not installed (Debian's bpftrace package; scripts/setup installs it)";
  if (!onPath('unshare')) return 'unshare (util-linux) is not installed';
  let filesystems = '';
  try {
    filesystems = readFileSync('/proc/filesystems', 'utf8');
  } catch {
    // read as none
  }
  if (!/\ttracefs\n/.test(filesystems)) return 'this kernel has no tracefs, where the kfree_skb tracepoint lives';
  return null;
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The inode number of a namespace made by `ip netns add NAME` (or a /proc/PID/ns/net path). */
export function netnsInode(nameOrPath: string): number {
  const path = nameOrPath.includes('/') ? nameOrPath : `/run/netns/${nameOrPath}`;
  return statSync(path).ino;
}

/** Compiler clones keep their source function's name with a suffix: __netif_receive_skb_core.constprop.0. */
export function functionName(symbol: string): string {
  return symbol.replace(/\+0x[0-9a-f]+$/, '').replace(/(\.(constprop|isra|part|cold|llvm)\.?\d*)+$/, '');
}

/** Where to watch: a namespace (its inode number), and in it only these devices when given. */
export interface DropScope {
  inode: number;
  ifindexes?: readonly number[];
}

/** The program: one line per drop whose device is in one of the namespaces (and among its devices). */
export function dropProgram(scopes: readonly (number | DropScope)[]): string {
  const all = scopes.map((s) => (typeof s === 'number' ? { inode: s } : s));
  const whole = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (all.length === 0 || all.some((s) => !whole(s.inode) || (s.ifindexes ?? []).some((i) => !whole(i))))
    throw new TapyardError('EUSAGE', 'watching drops needs at least one namespace');
  const ours = all
    .map((s) =>
      s.ifindexes === undefined
        ? `$n == ${s.inode}`
        : `($n == ${s.inode} && (${s.ifindexes.map((i) => `$dev->ifindex == ${i}`).join(' || ') || '0'}))`,
    )
    .join(' || ');
  return `BEGIN { printf("ready\\n"); }
tracepoint:skb:kfree_skb {
  $skb = (struct sk_buff *)args->skbaddr;
  $dev = $skb->dev;
  if ($dev != 0) {
    $n = $dev->nd_net.net->ns.inum;
    if (${ours}) {
      $h = $skb->head + $skb->mac_header;
      printf("drop %u %d %d %d %s %s %lx %lx %lx\\n", $n, $dev->ifindex, args->reason, $skb->mac_header,
        ksym(args->location), $dev->name, *(uint64 *)$h, *(uint64 *)($h + 8), *(uint64 *)($h + 16));
    }
  }
}
`;
}

/** SKB_DROP_REASON numbers to names, from the tracepoint's print format (__print_symbolic). */
export function reasonNames(format: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const m of format.matchAll(/\{\s*(\d+),\s*"([A-Z0-9_]+)"\s*\}/g)) names.set(Number(m[1]), m[2]!);
  return names;
}

function littleEndian(hex: string, into: Uint8Array, at: number): void {
  let v = BigInt(`0x${hex}`);
  for (let i = 0; i < 8; i++) {
    into[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** One line of the program's output, or null for any other line. */
export function parseDropLine(line: string, names: ReadonlyMap<number, string>): KernelDrop | null {
  const m = /^drop (\d+) (\d+) (\d+) (\d+) (\S+) (\S+) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)$/.exec(line);
  if (m === null) return null;
  const head = new Uint8Array(24);
  // mac_header 0xffff: never set, so the bytes read are not a frame.
  if (Number(m[4]) !== 0xffff) {
    littleEndian(m[7]!, head, 0);
    littleEndian(m[8]!, head, 8);
    littleEndian(m[9]!, head, 16);
  }
  const code = Number(m[3]);
  return {
    netns: Number(m[1]),
    ifindex: Number(m[2]),
    reason: names.get(code) ?? `reason ${code}`,
    fn: functionName(m[5]!),
    device: m[6]!,
    head,
  };
}

/** A running watch: drops arrive as they happen; stop() ends the BPF program. */
export interface DropWatch {
  /** Every drop seen since the watch started (the array grows). */
  readonly drops: readonly KernelDrop[];
  stop(): Promise<void>;
}

// tracefs where it is already mounted; else mounted in a mount namespace only this child sees.
// bpftrace runs until our end of the shell's standard input closes: stop() closing it, or this
// process ending in any way. That also works after `forward --user` gave up root, when a signal
// to the root-owned bpftrace would be refused.
const SCRIPT = `[ -e ${FORMAT} ] || mount -t tracefs nodev ${TRACEFS} || exit 97
cat ${FORMAT} && echo '--- end of format'
exec 3<&0
bpftrace -B none -e "$1" </dev/null &
pid=$!
{ read -r _ <&3; kill -TERM $pid 2>/dev/null; } &
reader=$!
wait $pid
echo "--- bpftrace exited $?"
kill $reader 2>/dev/null
exit 0`;

type Scope = string | { netns: string; ifindexes: readonly number[] };

function scopes(namespaces: readonly Scope[]): DropScope[] {
  return namespaces.map((n) =>
    typeof n === 'string' ? { inode: netnsInode(n) } : { inode: netnsInode(n.netns), ifindexes: n.ifindexes },
  );
}

/**
 * Watch skb:kfree_skb in these namespaces (names from `ip netns add`, or paths such as
 * /proc/self/ns/net), or only on some of their devices: every drop, with its frame's head.
 * Resolves once the program is attached; rejects with one sentence when it cannot be.
 */
export async function watchDrops(namespaces: readonly Scope[]): Promise<DropWatch> {
  const drops: KernelDrop[] = [];
  const stop = await runBpftrace(dropProgram(scopes(namespaces)), (line, names) => {
    const drop = parseDropLine(line, names);
    if (drop !== null) drops.push(drop);
  });
  return { drops, stop };
}

/** Drops counted by namespace, device, reason and function; totals since the watch started. */
export interface DropCount {
  netns: number;
  ifindex: number;
  reason: string;
  fn: string;
  count: number;
}

const COUNT_EVERY_MS = 500;

/** The counting program: the kernel keeps the totals, printed twice a second and at the end. */
export function countProgram(scopes: readonly DropScope[]): string {
  const lines = dropProgram(scopes).split('\n');
  const at = lines.findIndex((l) => l.includes('$h = $skb->head'));
  return [
    ...lines.slice(0, at),
    '      @drops[$n, $dev->ifindex, args->reason, ksym(args->location)] = count();',
    '    }',
    '  }',
    '}',
    `interval:ms:${COUNT_EVERY_MS} { print(@drops); }`,
    '',
  ].join('\n');
}

/** One line of a printed count map, or null. */
export function parseCountLine(line: string, names: ReadonlyMap<number, string>): DropCount | null {
  const m = /^@drops\[(\d+), (\d+), (\d+), ([^\]]+)\]: (\d+)$/.exec(line);
  if (m === null) return null;
  const code = Number(m[3]);
  return {
    netns: Number(m[1]),
    ifindex: Number(m[2]),
    reason: names.get(code) ?? `reason ${code}`,
    fn: functionName(m[4]!),
    count: Number(m[5]),
  };
}

/**
 * Count the drops on these devices in the kernel (a full ring can drop millions a second: no
 * line per drop). counts() has the latest totals; stop() ends the program and keeps its last word.
 */
export async function countDrops(
  namespaces: readonly Scope[],
): Promise<{ counts(): DropCount[]; stop(): Promise<void> }> {
  const totals = new Map<string, DropCount>();
  const stop = await runBpftrace(countProgram(scopes(namespaces)), (line, names) => {
    const c = parseCountLine(line, names);
    if (c !== null) totals.set(`${c.netns} ${c.ifindex} ${c.reason} ${c.fn}`, c);
  });
  return { counts: () => [...totals.values()], stop };
}

/** Start bpftrace on a program; each output line goes to onLine once it is attached. */
async function runBpftrace(
  program: string,
  onLine: (line: string, names: ReadonlyMap<number, string>) => void,
): Promise<() => Promise<void>> {
  const unavailable = dropWatchUnavailable();
  if (unavailable !== null) throw new TapyardError('ENOWATCH', unavailable);
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh', program], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => {});
  const stopOnExit = () => child.stdin.end();
  process.once('exit', stopOnExit);
  let format = '';
  let names = new Map<number, string>();
  let inFormat = true;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(failure('did not attach in time')), START_MS);
    const failure = (what: string) =>
      new TapyardError('ENOWATCH', `bpftrace on skb:kfree_skb ${what}${lastError(stderr)}`);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(failure(`could not start (${err.message})`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(failure(code === 97 ? 'found no tracefs to mount' : `exited (status ${code})`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (inFormat) {
        if (line === '--- end of format') {
          inFormat = false;
          names = reasonNames(format);
        } else format += `${line}\n`;
        return;
      }
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
        return;
      }
      const exited = /^--- bpftrace exited (\d+)$/.exec(line);
      if (exited !== null) {
        clearTimeout(timer);
        reject(failure(`exited (status ${exited[1]})`));
        child.stdin.end();
        return;
      }
      onLine(line, names);
    });
  });
  try {
    await ready;
  } catch (err) {
    child.stdin.end();
    process.removeListener('exit', stopOnExit);
    throw err;
  }
  return async () => {
    process.removeListener('exit', stopOnExit);
    child.stdin.end();
    await exited;
  };
}

function lastError(stderr: string): string {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/RLIMIT_MEMLOCK|^Attaching/.test(l))
    .at(-1);
  return line === undefined ? '' : `: ${line}`;
}
