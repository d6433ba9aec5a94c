import assert from 'node:assert/strict';
import { test } from 'node:test';
import { libdatachannelLogKey } from '../../media/worker/log-keys.js';

test('libdatachannel messages of one kind share a key whatever their numbers, addresses and quoted values', () => {
  const same = [
    'rtc::impl::IceTransport::LogCallback@391: juice: Send failed, errno=101',
    'rtc::impl::IceTransport::LogCallback@391: juice: Send failed, errno=13',
  ];
  assert.equal(libdatachannelLogKey(same[0]!), libdatachannelLogKey(same[1]!));
  assert.equal(
    libdatachannelLogKey('juice: Ignoring candidate with unknown type "weird"'),
    libdatachannelLogKey('juice: Ignoring candidate with unknown type "other"'),
  );
  assert.equal(libdatachannelLogKey('Rejected candidate 10.1.2.3:5000'), libdatachannelLogKey('Rejected candidate 192.168.77.1:61000'));
  assert.notEqual(libdatachannelLogKey(same[0]!), libdatachannelLogKey('rtc::impl::IceTransport::LogCallback@391: juice: ICE restart is not supported'));
});

test('keys are bounded in length', () => {
  assert.ok(libdatachannelLogKey('x'.repeat(10_000)).length < 250);
});
