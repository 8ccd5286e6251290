"""The official nginx image's template step: each /etc/nginx/templates/X.template becomes /etc/nginx/conf.d/X with
${VAR} replaced by the environment's VAR, for variables that are set (envsubst's behaviour there); then exec CMD."""

import os
import re
import sys
from pathlib import Path

TEMPLATES = Path("/etc/nginx/templates")
OUTPUT = Path("/etc/nginx/conf.d")


def main() -> None:
    for template in sorted(TEMPLATES.glob("*.template")):
        text = re.sub(r"\$\{(\w+)\}", lambda m: os.environ.get(m[1], m[0]), template.read_text())
        (OUTPUT / template.name.removesuffix(".template")).write_text(text)
        print(f"docker-entrypoint: rendered {template} to {OUTPUT}", file=sys.stderr)
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
