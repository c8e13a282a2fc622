/**
 * The soak's small parts, without running a soak: its command line, the fault windows that tell a
 * faulted instance's failures from errors, and the fingerprint that lets a CSV, a ListMetrics answer
 * and a stream event be compared.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaultWindows } from '../soak-cluster.js';
import { csvFingerprint, etagVersion, switchesFingerprint } from '../soak-http.js';
import { parseSoakOptions } from '../soak-options.js';

test('the soak options: defaults, the new modes, and bad values refused', () => {
  assert.deepEqual(parseSoakOptions([]), { seconds: 60, leak: undefined, mode: 'poll', streamClients: 0, history: true, cluster: false });
  assert.deepEqual(parseSoakOptions(['--seconds', '90', '--mode', 'push', '--stream-clients', '6', '--no-history']), { seconds: 90, leak: undefined, mode: 'push', streamClients: 6, history: false, cluster: false });
  assert.equal(parseSoakOptions(['--cluster']).cluster, true);
  assert.throws(() => parseSoakOptions(['--mode', 'pull']), /--mode must be poll or push/);
  assert.throws(() => parseSoakOptions(['--stream-clients', '-1']), /--stream-clients/);
  assert.throws(() => parseSoakOptions(['--stream-clients', '2.5']), /--stream-clients/);
  assert.throws(() => parseSoakOptions(['--cluster', '--seconds', '30']), /--cluster needs --seconds 60/);
  assert.throws(() => parseSoakOptions(['--seconds', '5']), /--seconds/);
  assert.throws(() => parseSoakOptions(['--inject-leak', 'heap:5']), /snapshot:BYTES or request:BYTES/);
  assert.throws(() => parseSoakOptions(['--bogus']));
});

test('a fault window covers the requests that overlap it, and only those', () => {
  const faults = new FaultWindows();
  const before = Date.now() - 10_000;
  assert.equal(faults.overlaps('server-1', before, Date.now()), false);
  faults.open('server-1');
  assert.equal(faults.isOpen('server-1'), true);
  assert.equal(faults.isOpen('server-2'), false);
  // Open: anything reaching into it overlaps.
  assert.equal(faults.overlaps('server-1', before, Date.now()), true);
  assert.equal(faults.overlaps('server-1', Date.now() + 5000, Date.now() + 6000), true);
  faults.close('server-1');
  assert.equal(faults.isOpen('server-1'), false);
  assert.equal(faults.overlaps('server-1', before, before + 1000), false);
  assert.equal(faults.overlaps('server-1', before, Date.now()), true);
  assert.equal(faults.overlaps('server-1', Date.now() + 5000, Date.now() + 6000), false);
  assert.equal(faults.overlaps('server-2', before, Date.now()), false);
});

test('one fabric state has one fingerprint, from a CSV or from JSON', () => {
  const csv = 'switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent\nsw1,4083,0.8,0,1,54,40.8\nsw2,10,1.5,3,0,0,0.1\n';
  const json = {
    sw1: { bandwidth_mbps: 4083, latency_ms: 0.8, packet_errors: 0, link_status: 1, tx_queue_depth: 54, utilization_percent: 40.8, timestamp: 1 },
    sw2: { bandwidth_mbps: 10, latency_ms: 1.5, packet_errors: 3, link_status: 0, tx_queue_depth: 0, utilization_percent: 0.1, timestamp: 1 },
  };
  assert.equal(switchesFingerprint(json), csvFingerprint(csv));
  assert.notEqual(switchesFingerprint({ ...json, sw2: { ...json.sw2, latency_ms: 1.6 } }), csvFingerprint(csv));
  assert.equal(csvFingerprint('switch_id,bandwidth_mbps\n'), undefined);
  assert.equal(etagVersion('"v42"'), 42);
  assert.equal(etagVersion('W/"v7"'), 7);
  assert.equal(etagVersion('"x42"'), undefined);
  assert.equal(etagVersion(undefined), undefined);
});
