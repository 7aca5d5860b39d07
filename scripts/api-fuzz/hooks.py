"""Schemathesis hooks for scripts/api-fuzz.sh.

- Generated Idempotency-Keys are short and collide ("0", "00", ...), so nearly every mutation
  would answer a replay or 422 `idempotency_key_reused` and never reach its handler. Most valid
  keys become fresh UUIDs; a share is left alone so that replays and reuse are fuzzed too. Keys
  a case made invalid on purpose (empty, too long, not ASCII) are never touched.
- Approval ids are long random strings the generator never guesses, so deciding would only
  ever answer 404. Half the valid ids become one of the demo's approvals (listed by the script
  in SPARTEX_FUZZ_APPROVAL_IDS), so decisions reach 200, 409 and 410 too.
- Agent ids are as unguessable: half the valid cases of replacing an agent's token name the
  script's own agent and its project (SPARTEX_FUZZ_AGENT), so the route answers 201 too.
- An agent's long poll holds a request for 30 s by default and up to a minute; valid and
  missing waits become 0 s, or 1 s in a tenth of the cases, so a run stays short. Invalid ones
  are left for the server to refuse.
"""

import os
import re
import uuid

import schemathesis

IDEMPOTENCY_KEY = "idempotency-key"
VALID_KEY = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,199}$")
KEEP_KEY_SHARE = 0.2
LONGEST_WAIT_S = 1
APPROVAL_IDS = os.environ.get("SPARTEX_FUZZ_APPROVAL_IDS", "").split()
AGENT = os.environ.get("SPARTEX_FUZZ_AGENT", "").split()
AGENT_TOKEN_PATH = "/api/v1/projects/{id}/agents/{agent_id}/token"


def chance(share):
    """True with probability `share`; os.urandom, as Hypothesis forbids `random` here."""
    return os.urandom(1)[0] < share * 256


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    for name in list(headers):
        value = headers[name]
        if (
            name.lower() == IDEMPOTENCY_KEY
            and isinstance(value, str)
            and VALID_KEY.match(value)
            and not chance(KEEP_KEY_SHARE)
        ):
            headers[name] = str(uuid.uuid4())
    if case.operation.path == "/api/v1/agent/approvals/{id}":
        if case.query is None:
            case.query = {}
        wait = case.query.get("wait_s")
        if wait is None or (isinstance(wait, int) and not isinstance(wait, bool) and wait > 0):
            case.query["wait_s"] = LONGEST_WAIT_S if chance(0.1) else 0
    path = case.path_parameters or {}
    if (
        APPROVAL_IDS
        and case.operation.path.startswith("/api/v1/approvals/{id}")
        and isinstance(path.get("id"), str)
        and path["id"]
        and chance(0.5)
    ):
        path["id"] = APPROVAL_IDS[os.urandom(1)[0] % len(APPROVAL_IDS)]
    if (
        len(AGENT) == 2
        and case.operation.path == AGENT_TOKEN_PATH
        and all(isinstance(path.get(name), str) and path[name] for name in ("id", "agent_id"))
        and chance(0.5)
    ):
        path["id"], path["agent_id"] = AGENT
