import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, encodeRecordHeader, FRAME_BYTES, type WalRecord } from '@carillon/accumulator';

const relayRecord: WalRecord = {
  format: 'statsd',
  receivedAt: 1_700_000_123,
  nodeNow: 1_700_000_124,
  acceptFrom: 1_700_000_100,
  relayId: 'relay-a:1234:éß',
  sequence: 2 ** 40 + 7,
  lines: Buffer.from('a:1|c\nb:2|ms\n'),
};

describe('write-ahead log record', () => {
  it('round-trips every field, relay and listener records alike, back to back in one buffer', () => {
    const listenerRecord: WalRecord = {
      ...relayRecord,
      format: 'graphite',
      relayId: '',
      sequence: 0,
      lines: Buffer.from('a.b 1 1700000000\n'),
    };
    const data = Buffer.concat([encodeRecord(relayRecord), encodeRecord(listenerRecord)]);
    const first = decodeRecord(data, 0);
    expect(first.kind).toBe('record');
    if (first.kind !== 'record') return;
    expect({ ...first.record, lines: first.record.lines.toString() }).toEqual({
      ...relayRecord,
      lines: relayRecord.lines.toString(),
    });
    const second = decodeRecord(data, first.next);
    expect(second.kind === 'record' && second.record.lines.toString()).toBe('a.b 1 1700000000\n');
    expect(second.kind === 'record' && second.next).toBe(data.length);
    expect(decodeRecord(data, data.length)).toEqual({ kind: 'short' });
  });

  it('the header alone carries the CRC over the lines (written with writev, lines not copied)', () => {
    const header = encodeRecordHeader(relayRecord);
    expect(Buffer.concat([header, relayRecord.lines])).toEqual(encodeRecord(relayRecord));
    expect(header.readUInt32LE(0)).toBe(header.length - FRAME_BYTES + relayRecord.lines.length);
  });

  it('a torn tail at every cut point is short, never a record', () => {
    const whole = encodeRecord(relayRecord);
    for (let cut = 0; cut < whole.length; cut++) expect(decodeRecord(whole.subarray(0, cut), 0).kind).toBe('short');
  });

  it('any flipped byte of a complete record is caught (CRC, or impossible length)', () => {
    const whole = encodeRecord(relayRecord);
    for (let at = 0; at < whole.length; at++) {
      const damaged = Buffer.from(whole);
      damaged[at] = damaged[at]! ^ 0x5a;
      const decoded = decodeRecord(damaged, 0);
      expect(decoded.kind, `byte ${at}`).not.toBe('record');
    }
  });
});
