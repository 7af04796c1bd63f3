// src/kernel/iproute.ts against the real iproute2: a link's fields in another namespace, with
// details and counters, the namespaces list, and a failure as iproute2's own sentence.

import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  IprouteError,
  iproute,
  iprouteAsync,
  iprouteJson,
  namespaces,
  showLink,
  showLinkAsync,
} from '../../src/kernel/iproute.js';
import { addNamespace, addVeth, deleteAll, macOf, newRunId } from '../helpers/kernel-lab.js';

const id = newRunId();
const a = `ty-${id}-a`;
const b = `ty-${id}-b`;
beforeAll(() => {
  addNamespace(a);
  addNamespace(b);
  addVeth(a, `ty-${id}-va`, b, `ty-${id}-vb`);
});
afterAll(deleteAll);

test('a link in another namespace: its fields, its kind with details, its counters with stats', async () => {
  const link = showLink(`ty-${id}-va`, { netns: a, details: true, stats: true });
  expect(link.ifname).toBe(`ty-${id}-va`);
  expect(link.address).toBe(macOf(a, `ty-${id}-va`));
  expect(link.linkinfo?.info_kind).toBe('veth');
  expect(link.flags).toContain('UP');
  expect(typeof link.stats64?.rx.packets).toBe('number');
  expect((await showLinkAsync(`ty-${id}-vb`, { netns: b })).ifindex).toBeGreaterThan(1);
  // Not in this process's namespace.
  expect(() => showLink(`ty-${id}-va`)).toThrow(IprouteError);
});

test('a change in a namespace, and any JSON answer read back', () => {
  iproute(['maddr', 'add', '01:00:5e:00:00:fb', 'dev', `ty-${id}-va`], { netns: a });
  const groups = iprouteJson<{ maddr?: { link?: string }[] }[]>(['maddr', 'show', 'dev', `ty-${id}-va`], { netns: a });
  expect(groups[0]?.maddr?.map((m) => m.link)).toContain('01:00:5e:00:00:fb');
});

test("the namespaces list has ours; a failure is iproute2's own last line", async () => {
  expect(namespaces()).toEqual(expect.arrayContaining([a, b]));
  const sync = (() => {
    try {
      showLink('ty-nosuch0', { netns: a });
    } catch (err) {
      return err;
    }
  })() as IprouteError;
  expect(sync).toBeInstanceOf(IprouteError);
  expect(sync.why).toMatch(/does not exist/);
  expect(sync.message).toMatch(new RegExp(`^ip -n ${a} -j link show dev ty-nosuch0: .*does not exist`));
  await expect(iprouteAsync(['link', 'set', 'ty-nosuch0', 'up'], { netns: a })).rejects.toThrow(/ty-nosuch0/);
});
