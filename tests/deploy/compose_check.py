#!/usr/bin/env python3
"""docker-compose.yml is well-formed YAML and wires Redis (AOF) and Kafka
(KRaft, single node) on their standard ports. No Docker engine runs where the
tests run, so this is as far as a test can check it."""
import sys

import yaml

path = sys.argv[1]
with open(path) as f:
    compose = yaml.safe_load(f)

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


services = compose.get("services", {})
redis, kafka = services.get("redis", {}), services.get("kafka", {})
check("6379:6379" in redis.get("ports", []), "redis publishes 6379")
check("--appendonly" in redis.get("command", []) and "yes" in redis.get("command", []), "redis runs with AOF")
check("noeviction" in redis.get("command", []), "redis runs with maxmemory-policy noeviction")
check("9092:9092" in kafka.get("ports", []), "kafka publishes 9092")
env = kafka.get("environment", {})
check(env.get("KAFKA_CFG_PROCESS_ROLES") == "broker,controller", "kafka runs KRaft (broker+controller)")
check("PLAINTEXT://localhost:9092" in env.get("KAFKA_CFG_ADVERTISED_LISTENERS", ""), "kafka advertises localhost:9092")
app = services.get("flashsale", {})
check("8080:8080" in app.get("ports", []), "flashsale publishes 8080")
check(app.get("environment", {}).get("REDIS_ADDR") == "redis:6379", "flashsale reaches redis")
check(app.get("environment", {}).get("KAFKA_BROKERS") == "kafka:9092", "flashsale reaches kafka")

for failure in failures:
    print("FAILED:", failure)
print(f"{9 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
