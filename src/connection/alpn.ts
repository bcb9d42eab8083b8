/** Which ALPN protocols to offer AWS IoT, by port and authentication mode. */

/** AWS IoT Core serves MQTT over mTLS on 443 only to clients that ask for this ALPN protocol. */
export const AWS_IOT_MQTT_ALPN = 'x-amzn-mqtt-ca';

/** ALPN to offer: x-amzn-mqtt-ca on 443, nothing on 8883 (where none is needed), or what the user set. */
export function alpnFor(port: number, configured: string[] | undefined): string[] {
  if (configured !== undefined) return configured;
  return port === 443 ? [AWS_IOT_MQTT_ALPN] : [];
}

/** Custom authorizers over MQTT (not websockets) on 443 need this ALPN protocol. */
export const AWS_IOT_CUSTOM_AUTH_ALPN = 'mqtt';
