#!/usr/bin/env bash
# Synthesizes the CDK app in its main configurations (with real esbuild bundling, no AWS
# credentials, no lookups) into .local/synth/<name> and lints every template with cfn-lint.
#
#   bash scripts/check-templates.sh            # all configurations
#   bash scripts/check-templates.sh strong     # only the named ones
#
# Ignored cfn-lint rules, and why:
#   W3005  "dependency already enforced by a GetAtt": the CDK adds an explicit DependsOn from each
#          function to its role (and the role's policy) so the policy exists before the function
#          is invoked; the redundant edge is harmless.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$(pwd)"
out="$root/.local/synth"
ignore_checks=(W3005)

domain=(-c domainName=chat.example.com -c hostedZoneId=Z0123456789EXAMPLE -c hostedZoneName=example.com)
declare -A configs=(
  [default]=""
  [domain]="${domain[*]}"
  [latency]="${domain[*]} -c routing=latency"
  [strong]="-c consistency=strong -c regions=us-east-1,us-east-2,us-west-2"
)
order=(default domain latency strong)
if [[ $# -gt 0 ]]; then order=("$@"); fi

# cfn-lint comes from PyPI; install it on first use so a fresh machine works.
cfn_lint=(cfn-lint)
if ! command -v cfn-lint >/dev/null 2>&1; then
  if python3 -m pip install --quiet cfn-lint; then
    # pip may put the console script outside PATH (e.g. ~/.local/bin): run the module instead.
    command -v cfn-lint >/dev/null 2>&1 ||
      cfn_lint=(python3 -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())')
  else
    # Distributions that mark the system Python as externally managed: use a private venv.
    python3 -m venv "$root/.local/cfn-lint-venv"
    "$root/.local/cfn-lint-venv/bin/pip" install --quiet cfn-lint
    cfn_lint=("$root/.local/cfn-lint-venv/bin/cfn-lint")
  fi
fi
echo "cfn-lint $("${cfn_lint[@]}" --version 2>&1 | awk '{print $NF}')"

# No credentials: synth must not need them.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE

mkdir -p "$out"
status=0
for name in "${order[@]}"; do
  if [[ -z ${configs[$name]+set} ]]; then
    echo "unknown configuration: $name (known: ${!configs[*]})" >&2
    exit 2
  fi
  dir="$out/$name"
  rm -rf "$dir"
  echo "== synth $name -> .local/synth/$name"
  # shellcheck disable=SC2086  # the context flags are meant to split
  npx cdk synth --quiet --no-notices -o "$dir" ${configs[$name]} >"$out/$name.log" 2>&1 || {
    cat "$out/$name.log" >&2
    echo "synth failed: $name" >&2
    exit 1
  }
  shopt -s nullglob
  templates=("$dir"/*.template.json)
  shopt -u nullglob
  if [[ ${#templates[@]} -eq 0 ]]; then
    echo "no templates in $dir" >&2
    exit 1
  fi
  for template in "${templates[@]}"; do
    file="$(basename "$template")"
    region="${file#Parley-}"
    region="${region%.template.json}"
    if "${cfn_lint[@]}" --regions "$region" --ignore-checks "${ignore_checks[@]}" -- "$template"; then
      echo "   ok  $name/$file"
    else
      echo "   FAIL $name/$file" >&2
      status=1
    fi
  done
done
exit "$status"
