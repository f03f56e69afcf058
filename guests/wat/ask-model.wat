;; ask-model: asks the client's model through cordon (a wasi-command with the progress and
;; sampling grants). Its input is the sampling request itself ({"prompt": ..., "maxTokens": N},
;; see guests/README.md), passed to cordon.sample unchanged; it reports progress 0/2 before
;; asking, 1/2 once answered and 2/2 when done, and writes {"answer": <cordon's answer JSON>}.
;; A refused or failed request is {"error": "..."} with exit status 1.
;; Memory: [0,8) read iovec, [8,12) nread, [16,24) write iovec, [24,28) nwritten,
;; [64, 256) fixed texts, [4096, 20480) the request, [32768, 98304) the answer.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "cordon" "progress" (func $progress (param i32 i32)))
  (import "cordon" "sample" (func $sample (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) "{\"answer\":")
  (data (i32.const 80) "}")
  (data (i32.const 96) "{\"error\":\"cordon refused the request\"}")
  (data (i32.const 144) "{\"error\":\"the client's model did not answer\"}")
  (data (i32.const 192) "{\"error\":\"the answer is too long\"}")

  (func $write (param $p i32) (param $n i32)
    (loop $more
      (if (i32.eqz (local.get $n)) (then (return)))
      (i32.store (i32.const 16) (local.get $p))
      (i32.store (i32.const 20) (local.get $n))
      (if (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))
        (then (call $proc_exit (i32.const 1))))
      (if (i32.eqz (i32.load (i32.const 24))) (then (call $proc_exit (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.load (i32.const 24))))
      (local.set $n (i32.sub (local.get $n) (i32.load (i32.const 24))))
      (br $more)))

  (func $fail (param $p i32) (param $n i32)
    (call $write (local.get $p) (local.get $n))
    (call $proc_exit (i32.const 1)))

  (func $start (export "_start")
    (local $len i32)
    (local $n i32)
    ;; the whole request, up to 16 KiB
    (loop $read
      (i32.store (i32.const 0) (i32.add (i32.const 4096) (local.get $len)))
      (i32.store (i32.const 4) (i32.sub (i32.const 16384) (local.get $len)))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $proc_exit (i32.const 1))))
      (local.set $n (i32.load (i32.const 8)))
      (local.set $len (i32.add (local.get $len) (local.get $n)))
      (br_if $read (i32.and (i32.ne (local.get $n) (i32.const 0)) (i32.lt_u (local.get $len) (i32.const 16384)))))
    (call $progress (i32.const 0) (i32.const 2))
    (local.set $n (call $sample (i32.const 4096) (local.get $len) (i32.const 32768) (i32.const 65536)))
    (if (i32.eq (local.get $n) (i32.const -2)) (then (call $fail (i32.const 96) (i32.const 38))))
    (if (i32.eq (local.get $n) (i32.const -4)) (then (call $fail (i32.const 192) (i32.const 34))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (call $fail (i32.const 144) (i32.const 45))))
    (call $progress (i32.const 1) (i32.const 2))
    (call $write (i32.const 64) (i32.const 10))
    (call $write (i32.const 32768) (local.get $n))
    (call $write (i32.const 80) (i32.const 1))
    (call $progress (i32.const 2) (i32.const 2)))
)
