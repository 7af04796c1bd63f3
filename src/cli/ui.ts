// tapyard ui: a live page of a running forwarder for a student at the same machine. The run is
// `tapyard forward --json --stats ...` as a child; the page gets its objects as server-sent events
// and traces frames through the model behind a POST that needs this run's token.

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { readForwardConfig } from '../config/forward.js';
import { TapyardError } from '../error.js';
import { flagHelp, HELP_FLAG, onOff, parseCommandLine, valued } from '../grammar/argv.js';
import { netnsName, usageError } from '../grammar/value.js';
import { startForward } from '../ui/forward-child.js';
import { kernelAround } from '../ui/kernel-around.js';
import { listenAddress } from '../ui/listen.js';
import { uiServer } from '../ui/server.js';
import { uiTopology } from '../ui/topology.js';
import { onStopSignal } from './process-guard.js';

const UI_FLAGS = {
  listen: valued('listen', listenAddress, 'where the page is served (port 0: any free port)', '127.0.0.1:8080'),
  allowRemote: onOff('allow-remote', 'serve clients that are not on this machine (off: they get 403)'),
  netns: valued('netns', netnsName, 'run the forwarder inside this network namespace (ip netns exec)'),
  help: HELP_FLAG,
} as const;

function uiHelp(): string {
  return `usage: tapyard ui [options] -- FORWARD-ARGS...

Run tapyard forward --json --stats FORWARD-ARGS and show it live in a browser: the ports around the
switch, their counters and drop reasons, a form that traces a frame through the model, and a why
form (asked of the model, and of the kernel if ticked). With --kernel-reasons among FORWARD-ARGS the
page also shows the kernel's own drop reasons on the run's devices.
The page's URL, with this run's token for the trace form, is printed on standard error.

Options:
${flagHelp(UI_FLAGS).join('\n')}`;
}

export async function uiCommand(argv: string[]): Promise<number> {
  const cut = argv.indexOf('--');
  const own = cut < 0 ? argv : argv.slice(0, cut);
  const forwardArgs = cut < 0 ? [] : argv.slice(cut + 1);
  try {
    const { values, positionals } = parseCommandLine(own, UI_FLAGS);
    if (values.help) {
      console.log(uiHelp());
      return 0;
    }
    if (positionals.length > 0)
      throw usageError(`ui takes the forwarder's arguments after --, not '${positionals[0]}'`);
    if (forwardArgs.includes('--help') || forwardArgs.includes('-h')) throw usageError('ask tapyard forward --help');
    const config = readForwardConfig(forwardArgs);
    if (config === null) throw usageError('ask tapyard forward --help');
    const listen = values.listen ?? { host: '127.0.0.1', port: 8080 };
    const topology = { ...uiTopology(config), kernel: kernelAround(config, values.netns) };
    return await serve(topology, forwardArgs, listen, values.allowRemote, values.netns);
  } catch (err) {
    if (!(err instanceof TapyardError)) throw err;
    process.stderr.write(`tapyard: ${err.message}\n`);
    return err.code === 'EUSAGE' ? 2 : 1;
  }
}

async function serve(
  topology: ReturnType<typeof uiTopology>,
  forwardArgs: string[],
  listen: { host: string; port: number },
  allowRemote: boolean,
  netns: string | undefined,
): Promise<number> {
  const token = randomBytes(16).toString('hex');
  // The forwarder starts once the page can be served; the send form reaches it through this.
  let forward: ReturnType<typeof startForward> | null = null;
  const ui = uiServer(topology, token, allowRemote, (port, frame) =>
    forward === null
      ? Promise.reject(new TapyardError('EAGAIN', 'the forwarder is starting'))
      : forward.inject(port, frame),
  );
  ui.server.listen(listen.port, listen.host);
  try {
    await Promise.race([once(ui.server, 'listening'), once(ui.server, 'error').then(([e]) => Promise.reject(e))]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TapyardError('ELISTEN', `cannot listen on ${listen.host}:${listen.port} (${e.code ?? e.message})`);
  }
  const port = (ui.server.address() as AddressInfo).port;
  forward = startForward(forwardArgs, netns, (line) => ui.publish(line));
  const run = forward;
  process.stderr.write(`tapyard: ui at http://${listen.host}:${port}/?token=${token}\n`);
  // Ctrl-C or a kill stops the forwarder, whose final object still reaches the page; the run's end
  // (asked for or not) closes the server, so nothing is left listening.
  // A terminal's Ctrl-C also reaches the forwarder itself; it takes a second SIGINT as the same request.
  onStopSignal(() => run.stop());
  const code = await run.exited;
  onStopSignal(null);
  await ui.close();
  return code;
}
