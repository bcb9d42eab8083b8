"""A paho-mqtt (python3-paho-mqtt 1.6) client for the bridge tests.

  paho-client.py pub --port P [--v5] --topic T --qos Q --count N [--prefix S]
      publishes N messages "S0".."S(N-1)", waits for every PUBACK, prints {"published": N}
  paho-client.py sub --port P [--v5] --filter F [--filter F2] --count N
      prints {"subscribed": [granted...]} then one {"topic", "payload", "qos"} line a message,
      and exits after N messages
Bounded: every wait has a timeout, and the process exits by itself.
"""
import argparse, json, sys, time
import paho.mqtt.client as mqtt

parser = argparse.ArgumentParser()
parser.add_argument('mode', choices=['pub', 'sub'])
parser.add_argument('--host', default='127.0.0.1')
parser.add_argument('--port', type=int, required=True)
parser.add_argument('--v5', action='store_true')
parser.add_argument('--topic')
parser.add_argument('--filter', action='append', default=[])
parser.add_argument('--qos', type=int, default=1)
parser.add_argument('--count', type=int, default=1)
parser.add_argument('--prefix', default='m')
parser.add_argument('--timeout', type=float, default=20)
args = parser.parse_args()

def out(obj):
    print(json.dumps(obj), flush=True)

protocol = mqtt.MQTTv5 if args.v5 else mqtt.MQTTv311
client = mqtt.Client(client_id='paho-%s-%d' % (args.mode, time.time_ns() % 100000), protocol=protocol)
received = []
subscribed = []

def on_message(_client, _userdata, message):
    received.append(message)
    out({'topic': message.topic, 'payload': message.payload.decode('utf-8', 'replace'), 'qos': message.qos})

def on_subscribe(_client, _userdata, _mid, granted, *_rest):
    subscribed.extend([int(getattr(code, 'value', code)) for code in granted])

client.on_message = on_message
client.on_subscribe = on_subscribe
client.connect(args.host, args.port, keepalive=30)
client.loop_start()
deadline = time.time() + args.timeout
try:
    if args.mode == 'pub':
        infos = [client.publish(args.topic, '%s%d' % (args.prefix, i), qos=args.qos) for i in range(args.count)]
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.time()))
        published = sum(1 for info in infos if info.is_published())
        out({'published': published})
        sys.exit(0 if published == args.count else 1)
    for topic_filter in args.filter:
        client.subscribe(topic_filter, qos=args.qos)
    while len(subscribed) < len(args.filter) and time.time() < deadline:
        time.sleep(0.02)
    out({'subscribed': subscribed})
    while len(received) < args.count and time.time() < deadline:
        time.sleep(0.02)
    sys.exit(0 if len(received) >= args.count else 1)
finally:
    client.loop_stop()
    client.disconnect()
