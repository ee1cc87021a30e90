#!/usr/bin/env bash
# Vision: (1) time to the first answer token for a first and a second question about the same
# image in one `ember run` conversation (the second reuses the cached prompt: the image is
# neither encoded nor evaluated again; target second <= 0.1 x first); (2) the image encoder's
# time, ember vs llama.cpp's llama-mtmd-cli, on the same files (best of ROUNDS).
# The model is the ~0.5B random-weight muse-glimmer of the other benchmarks plus a ViT-B-sized
# projector (768 wide, 12 layers, patch 16); the images are generated PNGs.
#   bench/vision.sh     (SIZES="256 512", ROUNDS=3, THREADS, BENCH_MODEL + BENCH_MMPROJ)
source "$(dirname "$0")/common.sh"
# Both tools wait passively in OpenMP's barriers: with spinning waits, any other load on a
# 2-core machine stalls the encoder several-fold and the comparison measures the scheduler.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
SIZES=${SIZES:-"256 512"}; ROUNDS=${ROUNDS:-3}
dir=$root/build/release/bench-models
model=${BENCH_MODEL:-$dir/glimmer-vision-0.5b-q8_0.gguf}
mmproj=${BENCH_MMPROJ:-$dir/mmproj-glimmer-vision-0.5b-f16.gguf}
if [ ! -f "$model" ] || [ ! -f "$mmproj" ]; then
  mkdir -p "$dir"
  "$root/build/release/testmodel/ember-genmodel" --arch muse-glimmer --out "$model" --mmproj "$mmproj" \
    --n-embd 1024 --n-layer 24 --n-head 16 --n-head-kv 4 --n-ff 4096 --n-vocab 32000 --type q8_0 \
    --v-embd 768 --v-layer 12 --v-head 12 --v-ff 3072 --patch-size 16 --image-size 512 >/dev/null
fi
cat "$model" "$mmproj" > /dev/null   # warm the page cache

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# a picture with structure (gradients and a grid), as PNG, per size
for s in $SIZES; do
  python3 - "$s" "$work/image-$s.png" <<'PY'
import struct, sys, zlib
s, path = int(sys.argv[1]), sys.argv[2]
rows = []
for y in range(s):
    row = bytearray([0])
    for x in range(s):
        g = 255 if (x // 32 + y // 32) % 2 else 0
        row += bytes([x * 255 // s, y * 255 // s, g])
    rows.append(bytes(row))
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', s, s, 8, 2, 0, 0, 0))
                       + chunk(b'IDAT', zlib.compress(b''.join(rows))) + chunk(b'IEND', b''))
PY
done

stat_field() { sed -n "${2}p" | sed -E "s/.* $1=([0-9.]+).*/\1/"; }

printf '%-8s %12s %12s %8s %14s %14s %8s\n' image "ttft 1st ms" "ttft 2nd ms" ratio "ember enc ms" "mtmd-cli ms" ratio
for s in $SIZES; do
  img=$work/image-$s.png
  t1=(); t2=(); enc=(); ref=()
  for _ in $(seq 1 "$ROUNDS"); do
    # (1) two questions on one image in one conversation
    out=$(printf '/image %s\nWhat is in this picture?\nWhich colors does it have?\n/exit\n' "$img" |
          "$ember" run -m "$model" --mmproj "$mmproj" -t "$threads" --mode instant --max-tokens 4 --stats \
          --grammar 'root ::= "ok ok ok ok"' 2>&1 >/dev/null | grep '^\[stats\]')
    t1+=("$(echo "$out" | stat_field ttft_ms 1)"); t2+=("$(echo "$out" | stat_field ttft_ms 2)")
    enc+=("$(echo "$out" | stat_field encode_ms 1)")
    # (2) llama.cpp's own tool on the same file: its "mtmd batch encoding done in N ms" line
    # (the random-weight model has no chat template of its own: any will do for encoding)
    ref_out=$("$llama_bin/llama-mtmd-cli" -m "$model" --mmproj "$mmproj" -t "$threads" --image "$img" \
              -p "What is in this picture?" -n 1 --temp 0 --chat-template chatml 2>&1 || true)
    ref+=("$(echo "$ref_out" | sed -nE 's/.*mtmd batch encoding done in ([0-9]+) ms.*/\1/p' | head -1)")
  done
  a=$(least "${t1[@]}"); b=$(least "${t2[@]}"); e=$(least "${enc[@]}"); r=$(least "${ref[@]}")
  printf '%-8s %12.1f %12.1f %8s %14.1f %14.1f %8s\n' "${s}x${s}" "$a" "$b" "$(ratio "$b" "$a")" "$e" "$r" "$(ratio "$e" "$r")"
done
echo "targets: ttft ratio <= 0.1 (second question reuses the cached image and prefix); encode ratio ~1 (same encoder)"
echo "best of $ROUNDS rounds, $threads threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY; model $(basename "$model") + $(basename "$mmproj")"
