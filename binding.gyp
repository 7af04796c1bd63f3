{
  "targets": [
    {
      "target_name": "tapio",
      "sources": ["native/tapio.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
