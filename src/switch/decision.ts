// What a switch decided for one frame, and why. The forwarder and `tapyard trace` read the
// same Decision, so the teaching view and the datapath cannot disagree.
//
// Reasons are string constants from the deciding module's table: cheap to store and to count,
// formatted only when someone asks. A Decision is reused frame after frame (reset, never
// reallocated), so deciding allocates nothing once the arrays have grown.

import type { EthernetView } from '../frame/ethernet.js';
import type { Mac } from '../mac.js';

export type Reason = string;

/** One step of a trace: where the frame was, and what happened there. */
export interface TraceStep {
  at: string;
  reason: Reason;
  detail?: string;
}

export class Decision {
  /** Egress port indexes that get a copy, in order. */
  readonly outputs: number[] = [];
  /** Why each output got its copy (same order as `outputs`). */
  readonly reasons: Reason[] = [];
  /** Why nobody got the frame; set exactly when `outputs` is empty. */
  drop: Reason | null = null;
  /** Steps for `tapyard trace`; null on the forwarding path, where nobody reads them. */
  steps: TraceStep[] | null = null;

  reset(): this {
    // pop() is an inlined builtin; `length = 0` is a runtime call that also shrinks the backing
    // store, so the next push allocates again: a third of the loop's time per frame.
    while (this.outputs.length > 0) this.outputs.pop();
    while (this.reasons.length > 0) this.reasons.pop();
    this.drop = null;
    if (this.steps !== null) this.steps.length = 0;
    return this;
  }

  forward(port: number, reason: Reason): void {
    this.outputs.push(port);
    this.reasons.push(reason);
  }

  discard(reason: Reason): void {
    this.drop = reason;
  }

  /** Record a step when tracing; free otherwise (pass constants, build no strings). Kept to one
   *  test and a call: V8 then inlines it into every deciding function for next to nothing, where
   *  the recording itself, inlined at each of a switch's many step sites, spent the budget
   *  (about 900 bytes of bytecode per optimised function) that the frame's own path needs. */
  step(at: string, reason: Reason, detail?: string): void {
    if (this.steps !== null) this.record(at, reason, detail);
  }

  private record(at: string, reason: Reason, detail: string | undefined): void {
    this.steps!.push(detail === undefined ? { at, reason } : { at, reason, detail });
  }
}

/** What a switch learns about each forwarder port before forwarding starts. */
export interface SwitchPort {
  name: string;
  /** The port's own MAC when it has one (macvtap, tap), else null. */
  mac: Mac | null;
}

/** What a switch did to its ports that an operator should know, e.g. made them promiscuous. */
export interface SwitchReport {
  /** Names of ports the real device would have put in promiscuous mode. */
  promiscuous: string[];
  notes: string[];
}

/** Anything that decides where a frame received on port `ingress` goes. */
export interface Switch {
  /** Called once before forwarding starts, with the ports in index order; throws a TapyardError on a bad topology. */
  bind?(ports: readonly SwitchPort[]): void;
  decide(ingress: number, frame: EthernetView, decision: Decision): void;
  /**
   * True for switches that look at nothing past the MAC addresses (a wire, a hub): they carry any
   * tag stack, where the others refuse one deeper than the frame view reads (too-many-vlan-tags).
   */
  readonly anyTagStack?: boolean;
  /** After bind: side effects the kernel's version of this switch has on its ports. */
  report?(): SwitchReport;
}
