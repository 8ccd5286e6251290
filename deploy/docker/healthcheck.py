"""Container health check: exit 0 only while this replica is ready to take traffic.

    python /usr/local/bin/ganserve-healthcheck     # GET http://127.0.0.1:$GANSERVE_PORT/v2/health/ready

The images' HEALTHCHECK (and compose's) runs it: slim images have no curl, and the standard library is enough.
A draining replica answers 503, so Docker marks it unhealthy while it finishes its accepted requests.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 2.0


def main() -> int:
    port = os.environ.get("GANSERVE_PORT", "8000")
    url = f"http://127.0.0.1:{port}/v2/health/ready"
    # No proxy: an http_proxy variable in the container must not send the probe elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"not ready: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"not ready: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
