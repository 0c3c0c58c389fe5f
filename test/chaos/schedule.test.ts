// The chaos schedule is a pure function of its seed: replayable, every kind of fault present,
// every fault healed before the end, never two faults on one host (or controller, or the
// registry) at once.

import t from 'tap';
import { chaosSchedule, FAULT_KINDS, parseDuration, seededRandom, type Fault } from './schedule';

const topology = { controllers: 2, hosts: 3, deployments: 3 };

t.test('the same seed gives the same schedule; another seed another', async (t) => {
  t.same(chaosSchedule(42, 300_000, topology), chaosSchedule(42, 300_000, topology));
  t.notSame(chaosSchedule(42, 300_000, topology).faults, chaosSchedule(43, 300_000, topology).faults);
  const a = seededRandom(7);
  const b = seededRandom(7);
  const draws = Array.from({ length: 1000 }, () => a());
  t.same(draws, Array.from({ length: 1000 }, () => b()));
  t.ok(draws.every((x) => x >= 0 && x < 1), 'in [0, 1)');
  t.ok(new Set(draws).size > 990, 'spread');
});

t.test('every kind of fault, healed before the end, one at a time per subject', async (t) => {
  for (let seed = 0; seed < 200; seed++) {
    for (const duration of [40_000, 300_000]) {
      const { faults, steps } = chaosSchedule(seed, duration, topology);
      const kinds = new Set(faults.map((f) => f.kind));
      if (kinds.size !== FAULT_KINDS.length) t.fail(`seed ${seed}, ${duration} ms: kinds ${[...kinds].join(',')}`);
      for (const f of faults) {
        if (!(f.at >= 0 && f.at < f.healAt && f.healAt <= duration)) t.fail(`seed ${seed}: ${JSON.stringify(f)} not healed within the run`);
        const max = f.kind === 'kill-controller' ? topology.controllers : f.kind === 'stop-registry' ? 1 : topology.hosts;
        if (f.target < 0 || f.target >= max) t.fail(`seed ${seed}: ${JSON.stringify(f)} names no such target`);
      }
      const subject = (f: Fault) => (f.kind === 'kill-agent' || f.kind === 'cut-host' ? `host ${f.target}` : `${f.kind} ${f.target}`);
      for (const a of faults) {
        for (const b of faults) {
          if (a !== b && subject(a) === subject(b) && a.at < b.healAt && b.at < a.healAt) t.fail(`seed ${seed}: ${JSON.stringify(a)} overlaps ${JSON.stringify(b)}`);
        }
      }
      if (!steps.every((s, i) => s.at < duration && (i === 0 || s.at > steps[i - 1]!.at))) t.fail(`seed ${seed}: steps out of order or past the end`);
      if (!steps.some((s) => s.kind === 'roll')) t.fail(`seed ${seed}: no rollout`);
    }
  }
  t.ok(chaosSchedule(1, 300_000, topology).faults.length >= 30, 'about one fault per 8 s over 5 minutes');
});

t.test('a longer run keeps the first steps of a shorter one with the same seed', async (t) => {
  const short = chaosSchedule(9, 60_000, topology).steps;
  t.same(chaosSchedule(9, 300_000, topology).steps.slice(0, short.length), short);
});

t.test('bad input is refused by name', async (t) => {
  t.throws(() => chaosSchedule(-1, 60_000, topology), /invalid seed -1/);
  t.throws(() => chaosSchedule(1.5, 60_000, topology), /invalid seed 1.5/);
  t.throws(() => chaosSchedule(1, 5_000, topology), /at least 13s .* got 5s/);
  t.equal(parseDuration('5m'), 300_000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('45s'), 45_000);
  t.equal(parseDuration('250ms'), 250);
  for (const bad of ['', '5', 'five minutes', '5h', '-3s']) t.throws(() => parseDuration(bad), new RegExp(`invalid duration "${bad}"`));
});
