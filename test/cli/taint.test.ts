// berth taint's arguments, as kubectl reads them: KEY[=VALUE]:EFFECT adds, KEY[:EFFECT]- removes;
// a bad effect or key is refused with kubectl's words.

import t from 'tap';
import { parseTaintArg } from '../../cli/cluster/taint';

t.test('taint arguments', async (t) => {
  t.same(parseTaintArg('dedicated=db:NoSchedule'), { add: { key: 'dedicated', value: 'db', effect: 'NoSchedule' } });
  t.same(parseTaintArg('example.com/spot:PreferNoSchedule'), { add: { key: 'example.com/spot', effect: 'PreferNoSchedule' } });
  t.same(parseTaintArg('maintenance:NoExecute-'), { remove: { key: 'maintenance', effect: 'NoExecute' } });
  t.same(parseTaintArg('dedicated-'), { remove: { key: 'dedicated' } });
  t.throws(() => parseTaintArg('dedicated=db:Sometimes'), /invalid taint effect: Sometimes, unsupported taint effect/);
  t.throws(() => parseTaintArg('dedicated=db'), /an effect is required/);
  t.throws(() => parseTaintArg('bad key:NoSchedule'), /invalid taint spec: bad key:NoSchedule/);
});
