#!/bin/sh
# Run by tools/test-packages inside a fresh Debian 13 root that has only
# GIMP, as root: installs the built packages from /debs as a user would,
# uses them as an ordinary user (uid 1000) in a folder of its own, copies
# what they made to /out for the pixel checks (check-outputs.py), purges
# the packages and looks for anything of Loom's left behind.  Prints
# "ok - NAME" / "not ok - NAME" lines (tools/test-packages numbers them)
# and "# ..." diagnostics; the commands' own output goes to /out/log/.
set -u
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
TIME=${LOOM_TEST_TIME:-10}       # seconds of the demo's training
STEPS=${LOOM_TEST_STEPS:-90}     # steps of train-seg's (deterministic)
log=/out/log
mkdir -p "$log"

ok () { echo "ok - $1"; }
not_ok () {
  echo "not ok - $1"
  [ -n "${2:-}" ] && [ -e "$2" ] && tail -n 15 "$2" | sed 's/^/#   /'
  return 0
}
# step NAME LOGFILE COMMAND...: one test, the command's output in LOGFILE.
step () {
  name=$1 file=$log/$2; shift 2
  if "$@" >"$file" 2>&1; then ok "$name"; else not_ok "$name (exit $?)" "$file"; fi
}

# Every path of the system, to compare with after the purge.
snapshot () {
  find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /out \
                  -o -path /debs -o -path /home -o -path /var/cache/apt -o -path /var/lib/apt \
                  -o -path /var/log -o -path /var/lib/dpkg \) -prune -o -print | sort
}
snapshot >/tmp/before

cd /debs
step "apt-get install ./*.deb" apt-install.log \
  sh -c 'apt-get update -q && apt-get install -y -q ./*.deb'

plugins=$(echo /usr/lib/*/gimp/3.0/plug-ins)
if [ -x "$plugins/loom/loom" ] && [ -x /usr/bin/loom ] &&
   [ -f /usr/share/loom/weights/segment-start.safetensors ] &&
   [ -f /usr/share/loom/weights/texture-gravel.safetensors ] &&
   [ -f /usr/share/loom/data/sample.png ] && [ -f /usr/share/man/man1/loom.1.gz ]; then
  ok "installed: $plugins/loom/loom, /usr/bin/loom, /usr/share/loom, loom(1)"
else
  not_ok "installed: $plugins/loom/loom, /usr/bin/loom, /usr/share/loom, loom(1)"
  ls -lR /usr/bin/loom /usr/share/loom "$plugins/loom" 2>&1 | sed 's/^/#   /'
fi

# The packages' binaries look for data in /usr/share/loom only
# (-Dsource_tree_data=false): the folder they were built in is not in them.
if [ -n "${LOOM_TEST_SRC:-}" ] && grep -qF "$LOOM_TEST_SRC" /usr/bin/loom "$plugins/loom/loom"; then
  not_ok "no build path ($LOOM_TEST_SRC) in the installed binaries"
else
  ok "no build path (${LOOM_TEST_SRC:-?}) in the installed binaries"
fi

# The user: uid 1000, a home of its own, far from any source tree.
home=/home/user
mkdir -p "$home/work" && chown -R 1000:1000 "$home" && chmod 1777 "$log"
as_user () {
  setpriv --reuid=1000 --regid=1000 --clear-groups \
    env -i HOME=$home PATH=/usr/bin:/bin LC_ALL=C.UTF-8 TERM=dumb sh -c "cd $home/work && $1"
}

step "loom demo -o demo --time $TIME" demo.log as_user "loom demo -o demo --time $TIME"
for f in sample.safetensors segmentation.png overlay.png confidence.png; do
  [ -s "$home/work/demo/$f" ] || echo "# demo made no $f"
done
agree=$(sed -n 's/.*true regions .* on \([0-9.]*\) % of its pixels/\1/p' "$log/demo.log")
# A short, timed training on a shared machine: a loose bound (the shipped
# starting point alone, untrained on these classes, agrees on far less);
# the train-seg run below is held to 90 %.
if [ -n "$agree" ] && [ "${agree%.*}" -ge 70 ] && [ -s "$home/work/demo/segmentation.png" ] &&
   ls "$home"/work/demo/*grav*.png >/dev/null 2>&1; then
  ok "loom demo: the segmentation agrees with the truth on $agree % (>= 70 %), textures made"
else
  not_ok "loom demo: the segmentation agrees with the truth on ${agree:-?} % (>= 70 %), textures made" "$log/demo.log"
  ls -l "$home/work/demo" 2>&1 | sed 's/^/#   /'
fi

as_user "cp /usr/share/loom/data/sample.png /usr/share/loom/data/sample-scribbles.png ."
step "loom train-seg --steps $STEPS from the installed starting point" train-seg.log \
  as_user "loom train-seg --image sample.png --labels sample-scribbles.png -o model.safetensors --steps $STEPS"
if grep -q /usr/share/loom/weights/segment-start.safetensors "$log/train-seg.log"; then
  ok "train-seg started from /usr/share/loom/weights/segment-start.safetensors"
else
  not_ok "train-seg started from /usr/share/loom/weights/segment-start.safetensors" "$log/train-seg.log"
fi
step "loom segment with the trained model" segment.log \
  as_user "loom segment --model model.safetensors -i sample.png -o segment.png"

# The plug-in in GIMP's batch mode: Segment with the model, Generate with
# no model (the installed shipped texture), each exported as a PNG.
cat >"$home/work/batch.scm" <<'SCM'
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "WORK/sample.png")))
       (pic (vector-ref (car (gimp-image-get-layers img)) 0)))
  (let ((seg (car (plug-in-loom-segment #:run-mode RUN-NONINTERACTIVE #:image img
                    #:drawables (vector pic) #:model-file "WORK/model.safetensors"))))
    (gimp-item-set-visible pic FALSE)
    (gimp-file-save RUN-NONINTERACTIVE img "WORK/gimp-segment.png" -1)
    (gimp-image-delete img)))
(let ((img (car (gimp-image-new 96 64 RGB))))
  (plug-in-loom-generate #:run-mode RUN-NONINTERACTIVE #:image img
    #:width 96 #:height 64 #:count 1 #:seed 3)
  (gimp-file-save RUN-NONINTERACTIVE img "WORK/gimp-generate.png" -1)
  (gimp-image-delete img))
SCM
sed -i "s|WORK|$home/work|g" "$home/work/batch.scm"
chown 1000:1000 "$home/work/batch.scm"
step "gimp-console batch: plug-in-loom-segment and plug-in-loom-generate" gimp.log \
  as_user 'gimp-console-3.0 -i --quit --batch-interpreter=plug-in-script-fu-eval -b "$(cat batch.scm)"'
for f in gimp-segment.png gimp-generate.png; do
  [ -s "$home/work/$f" ] || echo "# GIMP exported no $f"
done
cp -r "$home/work/." /out/work/ 2>/dev/null || { mkdir -p /out/work && cp -r "$home/work/." /out/work/; }

step "apt-get purge loom gimp-plugin-loom loom-data" purge.log \
  apt-get purge -y -q loom gimp-plugin-loom loom-data
snapshot >/tmp/after
left=$(comm -13 /tmp/before /tmp/after | grep -i loom)
if [ -z "$left" ] && [ ! -e /usr/bin/loom ] && [ ! -e /usr/share/loom ] && [ ! -e "$plugins/loom" ]; then
  ok "apt-get purge leaves no Loom file behind"
else
  not_ok "apt-get purge leaves no Loom file behind"
  echo "$left" | sed 's/^/#   left: /'
fi
