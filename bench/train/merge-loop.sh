#!/usr/bin/env bash
# Baseline for the deploy-rebuild benchmark: the plainest possible loop of
# `git merge-tree --write-tree` + `git commit-tree` over the request SHAs listed in $2, onto $1.
# Prints the final tip. Run in the repository (cwd); identity and dates come from the env.
set -euo pipefail
tip=$1
while IFS= read -r sha; do
  tree=$(git merge-tree --write-tree "$tip" "$sha")
  tip=$(git commit-tree "$tree" -p "$tip" -p "$sha" -m "Merge request $sha")
done < "$2"
printf '%s\n' "$tip"
