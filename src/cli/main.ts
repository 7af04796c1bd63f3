#!/usr/bin/env node
// tapyard's entry point. The process guard comes first, and alone: an ES module runs nothing until
// every module it imports is loaded (about 100 ms of tapyard here), so the commands are imported
// only once the guard has said what every signal does.
import './process-guard.js';

await import('./commands.js');
