#!/bin/bash
# Extended tier (not part of ctest): decodes every file of the shared oops
# corpus (real console captures from many kernels and architectures) and
# compares kind, instruction-pointer function and module with
# tests/corpus/expected.tsv (file, kind, function, module; "-" for none).
#
#   VMREPORT=build/vmreport tests/corpus/run-corpus.sh [--print]
#
# --print writes the values vmreport gives now, in expected.tsv's format.
# The corpus is read from $VR_OOPS_CORPUS (default
# $VR_SOURCE_DIR/../shared/oops-corpus); none of it is copied here.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${VR_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
CORPUS=${VR_OOPS_CORPUS:-$SRC/../shared/oops-corpus}
VMREPORT=${VMREPORT:-$SRC/build/vmreport}
EXPECTED=$HERE/expected.tsv
print=0
[[ ${1:-} == --print ]] && print=1
if [[ ! -d $CORPUS ]]; then
	echo "corpus: $CORPUS not found" >&2
	exit 2
fi

decode() { # FILE -> "kind<TAB>function<TAB>module", or "error<TAB>rc"
	local out rc
	out=$(timeout 60 "$VMREPORT" --format json "$1" 2>/dev/null)
	rc=$?
	if ((rc != 0)); then
		printf 'error\texit-%s\t-\n' "$rc"
		return
	fi
	jq -r '[.crash.kind, (.crash.ip.symbol // "-"), (.crash.ip.module // "-")] | @tsv' <<<"$out"
}

if ((print)); then
	(cd "$CORPUS" && find . -type f ! -name README.md | sed 's|^\./||' | sort) | while read -r f; do
		printf '%s\t%s\n' "$f" "$(decode "$CORPUS/$f")"
	done
	exit 0
fi

pass=0 fail=0 refused=0
while IFS=$'\t' read -r f kind fn mod; do
	[[ -z $f || $f == \#* ]] && continue
	if [[ ! -f $CORPUS/$f ]]; then
		echo "MISSING $f"
		fail=$((fail + 1))
		continue
	fi
	got=$(decode "$CORPUS/$f")
	# Exit status 2: the input was not taken for a kernel log at all.
	[[ $got == error$'\t'exit-2$'\t'* ]] && refused=$((refused + 1))
	if [[ $got == "$kind"$'\t'"$fn"$'\t'"$mod" ]]; then
		pass=$((pass + 1))
	else
		echo "FAIL $f: want [$kind $fn $mod] got [${got//$'\t'/ }]"
		fail=$((fail + 1))
	fi
done <"$EXPECTED"
echo "corpus: $pass passed, $fail failed ($refused of them refused as input: exit status 2)"
((fail == 0))
