// --listen HOST:PORT, read like every other value (src/grammar/value.ts): an IPv4 address or
// localhost, and a port (0: any free one, the kernel picks).

import { parseIpv4 } from '../grammar/ip-address.js';
import type { ValueType } from '../grammar/value.js';
import { usageError } from '../grammar/value.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const listenAddress: ValueType<ListenAddress> = {
  shape: 'HOST:PORT',
  parse(text, where) {
    const m = /^([^:]+):(\d{1,5})$/.exec(text);
    const host = m?.[1];
    const port = Number(m?.[2]);
    if (host === undefined || port > 65535 || (host !== 'localhost' && parseIpv4(host) === null)) {
      throw usageError(`${where} must be an IPv4 address and a port such as 127.0.0.1:8080, not '${text}'`);
    }
    return { host: host === 'localhost' ? '127.0.0.1' : host, port };
  },
};
