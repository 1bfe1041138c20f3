{
  "targets": [
    {
      "target_name": "ipckit",
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "include_dirs": ["native", "native/include"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_cc!": ["-std=gnu++17", "-fno-exceptions"],
      "sources": [
        "native/addon.cc",
        "native/common/constants.cc",
        "native/common/errors.cc",
        "native/common/mapping.cc",
        "native/common/waiter.cc"
      ],
      "conditions": [
        # One list per platform, each source named once. native/posix/ is POSIX, native/linux/
        # what Linux and glibc add; native/<platform>/register.cc says which features exist.
        ["OS=='linux'", {
          "sources": [
            "native/posix/cancel.cc",
            "native/posix/fifo.cc",
            "native/posix/poll_waits.cc",
            "native/posix/shm.cc",
            "native/posix/signals.cc",
            "native/linux/errors.cc",
            "native/linux/named_sem.cc",
            "native/linux/posix_mq.cc",
            "native/linux/register.cc",
            "native/linux/sync.cc",
            "native/linux/sysv_mq.cc",
            "native/linux/sysv_shm.cc",
            "native/linux/eventfd.cc",
            "native/linux/memfd.cc",
            "native/linux/introspect.cc",
            "native/posix/unix_socket.cc",
            "native/linux/sysv_sem.cc"
          ],
          "libraries": ["-lrt"]
        }],
        # Windows: Win32 only. scripts/win/build.js cross-builds this same list with mingw-w64.
        ["OS=='win'", {
          "sources": [
            "native/win/cancel.cc",
            "native/win/channel_events.cc",
            "native/win/errors.cc",
            "native/win/mailslot.cc",
            "native/win/named_sem.cc",
            "native/win/pipe.cc",
            "native/win/register.cc",
            "native/win/shm.cc"
          ],
          "defines": ["UNICODE", "_UNICODE", "WIN32_LEAN_AND_MEAN", "NOMINMAX"],
          "libraries": ["-ladvapi32", "-lntdll"]
        }],
        # Anywhere else, an addon with no features: the package installs and every factory
        # throws ERR_IPC_UNSUPPORTED_PLATFORM.
        ["OS!='linux' and OS!='win'", {
          "sources": ["native/stub/platform.cc"]
        }]
      ]
    }
  ]
}
