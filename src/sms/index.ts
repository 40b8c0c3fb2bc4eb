/** SMS through an HTTP gateway (issue 11): client, channel adapter, stand-in (tests and sandbox). */
export {
  classifySmsFailure,
  createSmsChannel,
  SMS_DLR_FAILED,
  type SmsChannel,
  type SmsChannelOptions,
  smsChannelFromConfig,
} from './channel.js';
export {
  ingestSmsReport,
  type SettleSmsFailures,
  type SmsReport,
  type SmsReportResult,
  toDeliveryState,
} from './delivery-reports.js';
export {
  buildGatewayRequest,
  createSmsGateway,
  type SmsGateway,
  type SmsGatewayFailure,
  type SmsGatewayMessage,
  type SmsGatewayResult,
} from './gateway.js';
export {
  type InboundSms,
  type InboundSmsResult,
  ingestInboundSms,
  isSmsOptOut,
  SMS_OPT_OUT_WORDS,
} from './inbound.js';
