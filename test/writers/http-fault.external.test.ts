/**
 * The http writer's fault test (fault.ts): a VictoriaMetrics of the test's own, stopped 60 s under traffic and
 * started again; it ends up with every window exactly, the failures are counted, the file writer beside it is
 * unaffected.
 */
import { startVictoriaMetrics } from '../support/tsdb-servers.js';
import { checkServerHoldsAll, describeFault } from './fault.js';
import { readVictoriaMetrics } from './line-protocol-read.js';

describeFault({
  writer: 'http',
  server: 'VictoriaMetrics',
  start: (dir) => startVictoriaMetrics(dir),
  faultServer: (vm) => vm,
  close: (vm) => vm.stop(),
  writerToml: (vm) => [`url = "${vm.writeUrl}"`, 'flush_interval = "500ms"'],
  holdsAll: (vm, run) => checkServerHoldsAll(() => readVictoriaMetrics(vm.baseUrl), run),
});
