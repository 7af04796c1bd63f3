// tapyard as a library: the pieces `tapyard forward` is built from, for experiments written in
// TypeScript. Open ports from the same specs as the CLI (or build them yourself), put any Switch
// between them (one decide() per frame, writing into a reused Decision), and run a Forwarder;
// build and describe frames (also from send's one-line specs, and match them); bring a lab up
// and down. README "Write your own experiment".

export { boundSwitch, type NamedPort } from './config/bound-switch.js';
export { type ForwardConfig, readForwardConfig } from './config/forward.js';
export { type PortConfig, parsePortSpec } from './config/port.js';
export { Forwarder, type ForwarderOptions, type FrameObserver, type Ledger } from './engine/forwarder.js';
export { TapyardError } from './error.js';
export { buildRxFilter, type RxFilterConfig } from './filter/guest-filter.js';
export { RxFilter } from './filter/rx-filter.js';
export { describe } from './frame/describe.js';
export { EthernetView, EtherType, emitEthernet } from './frame/ethernet.js';
export { Frame } from './frame/frame.js';
export { type Lab, type LabKind, labDown, labUp } from './lab.js';
export { BROADCAST, formatMac, type Mac, parseMac, readMac, writeMac } from './mac.js';
export { MemoryPort } from './port/memory.js';
export { openPort } from './port/open.js';
export type { Port, PortListener, RxBatch } from './port/port.js';
export { describeReason, reasons } from './reason.js';
export { readCaptureFile } from './send/capture-file.js';
export { type FrameTemplate, frameBytes, readFrameSpec } from './send/frame-spec.js';
export { type FrameMatch, readMatch } from './send/match.js';
export { buildFrame, type FrameSpec } from './spec/build.js';
export { Decision, type Switch, type SwitchPort } from './switch/decision.js';
export { CrossConnect, Hub, LearningBridge, Macvlan, makeSwitch, type SwitchConfig } from './switch/index.js';
