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
        ["OS=='linux'", {
          "sources": [
            "native/posix/errors.cc",
            "native/posix/interrupt.cc",
            "native/posix/named_sem.cc",
            "native/posix/posix_mq.cc",
            "native/posix/shm.cc",
            "native/posix/sync.cc",
            "native/posix/sysv_mq.cc",
            "native/posix/sysv_sem.cc"
          ],
          "libraries": ["-lrt"]
        }]
      ]
    }
  ]
}
