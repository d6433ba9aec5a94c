import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortBudget } from '../../media/transport/port-budget.js';
import { WorkerRequestError } from '../../media/worker/request-error.js';

test('a muxed port has no budget; a range keeps a tenth (at least 2 ports) in reserve, and allows at least one connection', () => {
  assert.equal(PortBudget.forSettings({ portRangeBegin: 40000, portRangeEnd: 40000 }), undefined);
  assert.equal(PortBudget.forSettings({ portRangeBegin: 40000, portRangeEnd: 40001 })?.limit, 1);
  assert.equal(PortBudget.forSettings({ portRangeBegin: 40000, portRangeEnd: 40009 })?.limit, 8);
  assert.equal(PortBudget.forSettings({ portRangeBegin: 40000, portRangeEnd: 40999 })?.limit, 900);
});

test('take beyond the limit throws MEDIA_PORTS_EXHAUSTED; give frees one, never below zero', () => {
  const budget = new PortBudget(2);
  budget.take();
  budget.take();
  assert.throws(() => budget.take(), (error: unknown) => error instanceof WorkerRequestError && error.code === 'MEDIA_PORTS_EXHAUSTED');
  assert.equal(budget.inUse, 2);
  budget.give();
  budget.take();
  budget.give();
  budget.give();
  budget.give();
  assert.equal(budget.inUse, 0);
});
