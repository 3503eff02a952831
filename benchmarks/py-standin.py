"""A stand-in for the original Python example bundle (Sanji SDK 1.1.2), on Debian's python3-paho-mqtt.

It behaves as the SDK does where speed is concerned (issue 14, item 5): the network thread only queues incoming
messages; three dispatch threads each take one request, publish its answer on /controller at QoS 2 and wait until
the QoS 2 handshake (PUBLISH, PUBREC, PUBREL, PUBCOMP) has completed before taking the next one.

Two ways to be reached:
  --register          register with the controller as the SDK does (DELETE, then POST /controller/registration
                      on the internal tunnel) as model `pystandin` serving /pystandin, then answer on the tunnel the
                      controller assigns; prints "registered <tunnel>".
  --tunnel <topic>    no controller: subscribe to <topic> and answer every request on it (the load driver publishes
                      there directly); prints "listening <topic>".

On SIGTERM it prints one JSON line: answers sent and the handshake time of each answer's publish (publish call to
PUBCOMP) as p50 / p90 / p99 in microseconds: the part of a request's latency the broker's side of QoS 2 costs.
"""

import json
import queue
import random
import signal
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt

NAME = "pystandin"
RESOURCE = "/pystandin"
DISPATCH_THREADS = 3


def parse_args(argv):
    args = {"url": "mqtt://127.0.0.1:1883", "register": False, "tunnel": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--register":
            args["register"] = True
        elif a == "--tunnel":
            i += 1
            args["tunnel"] = argv[i]
        elif a == "--url":
            i += 1
            args["url"] = argv[i]
        else:
            raise SystemExit("unknown argument " + a)
        i += 1
    if args["register"] == (args["tunnel"] is not None):
        raise SystemExit("give exactly one of --register, --tunnel <topic>")
    return args


class StandIn:
    def __init__(self, url):
        host, port = url.replace("mqtt://", "").split(":")
        self.internal = uuid.uuid4().hex
        self.requests = queue.Queue()
        self.replies = {}
        self.replies_lock = threading.Lock()
        self.handshakes_us = []
        self.stats_lock = threading.Lock()
        self.client = mqtt.Client(client_id="", clean_session=True, protocol=mqtt.MQTTv311)
        self.client.on_message = self.on_message
        self.client.connect(host, int(port), keepalive=60)
        self.client.subscribe(self.internal, qos=0)
        self.client.loop_start()

    def on_message(self, _client, _userdata, msg):
        try:
            body = json.loads(msg.payload.decode("utf-8"))
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        if "code" in body and "id" in body:
            with self.replies_lock:
                waiter = self.replies.pop(body["id"], None)
            if waiter is not None:
                waiter.put(body)
            return
        if "id" in body and "method" in body:
            self.requests.put(body)

    def call(self, method, resource, data, timeout=3.0):
        """A direct request as the SDK's registration routine sends it; the reply or None."""
        msg_id = random.randint(1, 655350)
        waiter = queue.Queue(maxsize=1)
        with self.replies_lock:
            self.replies[msg_id] = waiter
        req = {"resource": resource, "method": method, "tunnel": self.internal, "data": data, "id": msg_id}
        self.client.publish("/controller", json.dumps(req), qos=2).wait_for_publish()
        try:
            return waiter.get(timeout=timeout)
        except queue.Empty:
            with self.replies_lock:
                self.replies.pop(msg_id, None)
            return None

    def register(self):
        profile = {"name": NAME, "role": "model", "ttl": 10, "description": "benchmark stand-in",
                   "resources": [RESOURCE], "tunnel": self.internal}
        while True:
            reply = self.call("delete", "/controller/registration", profile)
            if reply is not None and reply.get("code") == 200:
                break
            time.sleep(1)
        while True:
            reply = self.call("post", "/controller/registration", profile, timeout=60)
            if reply is not None and reply.get("code") == 200:
                tunnel = reply["data"]["tunnel"]
                self.client.subscribe(tunnel, qos=0)
                return tunnel

    def dispatch(self):
        while True:
            req = self.requests.get()
            res = {k: v for k, v in req.items() if k not in ("tunnel", "param", "query") and not k.startswith("_")}
            res["data"] = {"key": "value"}
            res["code"] = 200
            res["sign"] = list(req.get("sign") or []) + [NAME]
            started = time.perf_counter()
            self.client.publish("/controller", json.dumps(res), qos=2).wait_for_publish()
            took = int((time.perf_counter() - started) * 1_000_000)
            with self.stats_lock:
                self.handshakes_us.append(took)

    def report(self):
        with self.stats_lock:
            xs = sorted(self.handshakes_us)

        def q(p):
            return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else None

        return {"answers": len(xs), "handshakeUs": {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99)}}


def main():
    args = parse_args(sys.argv[1:])
    s = StandIn(args["url"])
    for _ in range(DISPATCH_THREADS):
        threading.Thread(target=s.dispatch, daemon=True).start()
    if args["register"]:
        print("registered " + s.register(), flush=True)
    else:
        s.client.subscribe(args["tunnel"], qos=0)
        print("listening " + args["tunnel"], flush=True)
    done = threading.Event()

    def on_term(_sig, _frame):
        print(json.dumps(s.report()), flush=True)
        done.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while not done.is_set():
        done.wait(0.5)
    s.client.loop_stop()


if __name__ == "__main__":
    main()
