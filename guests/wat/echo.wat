;; echo: copies stdin to stdout, byte for byte. The smallest useful cordon wasi-command,
;; used to measure the fixed cost of one call. Imports fd_read, fd_write and proc_exit only.
;; Memory: [0,8) read iovec, [8,12) nread, [16,24) write iovec, [24,28) nwritten,
;; [1024, 1024+65536) the copy buffer.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)

  (func $start (export "_start")
    (local $n i32)
    (local $p i32)
    (loop $read
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 65536))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $proc_exit (i32.const 1))))
      (local.set $n (i32.load (i32.const 8)))
      (if (i32.eqz (local.get $n)) (then (return)))
      (local.set $p (i32.const 1024))
      ;; write until the whole chunk is out; a host that accepts nothing is an error
      (loop $write
        (i32.store (i32.const 16) (local.get $p))
        (i32.store (i32.const 20) (local.get $n))
        (if (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))
          (then (call $proc_exit (i32.const 1))))
        (if (i32.eqz (i32.load (i32.const 24)))
          (then (call $proc_exit (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.load (i32.const 24))))
        (local.set $n (i32.sub (local.get $n) (i32.load (i32.const 24))))
        (br_if $write (local.get $n)))
      (br $read)))
)
