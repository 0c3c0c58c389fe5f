# tap's output -> each "not ok" line with its diagnostics, leaving out the long parts (stack,
# source, the command and environment): what failed and where, for the end of a long run.
/^ *not ok / { print; indiag = 1; skip = -1; next }
indiag && /^ *\.\.\.$/ { indiag = 0; next }
indiag {
  match($0, /^ */); indent = RLENGTH
  if (skip >= 0 && (indent > skip || $0 ~ /^ *$/)) next
  skip = -1
  if ($0 ~ /^ *(stack|source|args|env|stdio|cwd|command|externalID|typeName|columnNumber): ?/) { skip = indent; next }
  print
}
