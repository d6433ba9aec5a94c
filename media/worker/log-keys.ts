/**
 * The kind of event a libdatachannel log message reports, for RateLimitedLog:
 * the message with what varies per client taken out (numbers, so addresses,
 * ports, errno values and line numbers; quoted values), so a flood of one
 * kind shares one key however its details differ.
 */
export function libdatachannelLogKey(message: string): string {
  return `libdatachannel:${message.replace(/"[^"]*"|'[^']*'/g, '"…"').replace(/\d+/g, '#').slice(0, 200)}`;
}
