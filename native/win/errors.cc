// Windows errors as Node reports them: a Win32 code (GetLastError()) becomes the libuv error
// number Node's names use on Windows (ENOENT is -4058 there, not -2), and the raw code travels
// with the error as `osErrno` and its name as `osCode` (lib/errors.ts), so nothing is lost in
// the translation. Codes with no libuv counterpart keep their Win32 name ("ERROR_PIPE_LISTENING").
#include <windows.h>

#include <string>

#include "common/errors.h"

namespace ipckit {

namespace {

// libuv's error numbers on Windows (uv/errno.h), by the names Node gives them.
enum Uv : int {
  kUvE2BIG = -4093,
  kUvEACCES = -4092,
  kUvEAGAIN = -4088,
  kUvEBADF = -4083,
  kUvEBUSY = -4082,
  kUvECANCELED = -4081,
  kUvEEXIST = -4075,
  kUvEFAULT = -4074,
  kUvEINVAL = -4071,
  kUvEIO = -4070,
  kUvEMFILE = -4066,
  kUvEMSGSIZE = -4065,
  kUvENAMETOOLONG = -4064,
  kUvENOBUFS = -4060,
  kUvENOENT = -4058,
  kUvENOMEM = -4057,
  kUvENOSPC = -4055,
  kUvENOTCONN = -4053,
  kUvENOTDIR = -4052,
  kUvENOTSUP = -4049,
  kUvEPERM = -4048,
  kUvEPIPE = -4047,
  kUvETIMEDOUT = -4039,
  kUvEOVERFLOW = -4026,
  kUvEOF = -4095,
};

struct Known {
  DWORD code;
  const char* name;
  int uv;  // 0: none; the error keeps the Win32 name as its code
};

#define IPCKIT_WIN_ERROR(name, uv) \
  { name, #name, uv }
constexpr Known kKnown[] = {
    IPCKIT_WIN_ERROR(ERROR_INVALID_FUNCTION, kUvENOTSUP),
    IPCKIT_WIN_ERROR(ERROR_FILE_NOT_FOUND, kUvENOENT),
    IPCKIT_WIN_ERROR(ERROR_PATH_NOT_FOUND, kUvENOENT),
    IPCKIT_WIN_ERROR(ERROR_TOO_MANY_OPEN_FILES, kUvEMFILE),
    IPCKIT_WIN_ERROR(ERROR_ACCESS_DENIED, kUvEACCES),
    IPCKIT_WIN_ERROR(ERROR_INVALID_HANDLE, kUvEBADF),
    IPCKIT_WIN_ERROR(ERROR_NOT_ENOUGH_MEMORY, kUvENOMEM),
    IPCKIT_WIN_ERROR(ERROR_INVALID_DATA, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_OUTOFMEMORY, kUvENOMEM),
    IPCKIT_WIN_ERROR(ERROR_BAD_LENGTH, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_GEN_FAILURE, kUvEIO),
    IPCKIT_WIN_ERROR(ERROR_SHARING_VIOLATION, kUvEBUSY),
    IPCKIT_WIN_ERROR(ERROR_WRITE_FAULT, kUvEIO),
    IPCKIT_WIN_ERROR(ERROR_LOCK_VIOLATION, kUvEBUSY),
    IPCKIT_WIN_ERROR(ERROR_HANDLE_EOF, kUvEOF),
    IPCKIT_WIN_ERROR(ERROR_NOT_SUPPORTED, kUvENOTSUP),
    IPCKIT_WIN_ERROR(ERROR_BAD_NETPATH, kUvENOENT),
    IPCKIT_WIN_ERROR(ERROR_FILE_EXISTS, kUvEEXIST),
    IPCKIT_WIN_ERROR(ERROR_INVALID_PARAMETER, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_BROKEN_PIPE, kUvEPIPE),
    IPCKIT_WIN_ERROR(ERROR_DISK_FULL, kUvENOSPC),
    IPCKIT_WIN_ERROR(ERROR_SEM_TIMEOUT, kUvETIMEDOUT),
    IPCKIT_WIN_ERROR(ERROR_INSUFFICIENT_BUFFER, kUvENOBUFS),
    IPCKIT_WIN_ERROR(ERROR_PROC_NOT_FOUND, 0),
    IPCKIT_WIN_ERROR(ERROR_INVALID_NAME, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_BAD_PATHNAME, kUvENOENT),
    IPCKIT_WIN_ERROR(ERROR_ALREADY_EXISTS, kUvEEXIST),
    IPCKIT_WIN_ERROR(ERROR_FILENAME_EXCED_RANGE, kUvENAMETOOLONG),
    IPCKIT_WIN_ERROR(ERROR_DIRECTORY, kUvENOTDIR),
    IPCKIT_WIN_ERROR(ERROR_BAD_PIPE, kUvEPIPE),
    IPCKIT_WIN_ERROR(ERROR_PIPE_BUSY, kUvEBUSY),
    IPCKIT_WIN_ERROR(ERROR_NO_DATA, kUvEPIPE),
    IPCKIT_WIN_ERROR(ERROR_PIPE_NOT_CONNECTED, kUvEPIPE),
    IPCKIT_WIN_ERROR(ERROR_MORE_DATA, kUvEMSGSIZE),
    IPCKIT_WIN_ERROR(ERROR_NOT_OWNER, kUvEPERM),
    IPCKIT_WIN_ERROR(ERROR_TOO_MANY_POSTS, kUvEOVERFLOW),
    IPCKIT_WIN_ERROR(ERROR_INVALID_ADDRESS, kUvEFAULT),
    IPCKIT_WIN_ERROR(ERROR_PIPE_CONNECTED, 0),
    IPCKIT_WIN_ERROR(ERROR_PIPE_LISTENING, kUvENOTCONN),
    IPCKIT_WIN_ERROR(ERROR_OPERATION_ABORTED, kUvECANCELED),
    IPCKIT_WIN_ERROR(ERROR_IO_INCOMPLETE, kUvEAGAIN),
    IPCKIT_WIN_ERROR(ERROR_IO_PENDING, kUvEAGAIN),
    IPCKIT_WIN_ERROR(ERROR_NOACCESS, kUvEFAULT),
    IPCKIT_WIN_ERROR(ERROR_INVALID_FLAGS, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_MAPPED_ALIGNMENT, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_NOT_FOUND, kUvENOENT),
    IPCKIT_WIN_ERROR(ERROR_CANCELLED, kUvECANCELED),
    IPCKIT_WIN_ERROR(ERROR_USER_MAPPED_FILE, kUvEBUSY),
    IPCKIT_WIN_ERROR(ERROR_PRIVILEGE_NOT_HELD, kUvEPERM),
    IPCKIT_WIN_ERROR(ERROR_NONE_MAPPED, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_INVALID_ACL, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_INVALID_SECURITY_DESCR, kUvEINVAL),
    IPCKIT_WIN_ERROR(ERROR_NO_SYSTEM_RESOURCES, kUvENOBUFS),
    IPCKIT_WIN_ERROR(ERROR_COMMITMENT_LIMIT, kUvENOMEM),
    IPCKIT_WIN_ERROR(ERROR_TIMEOUT, kUvETIMEDOUT),
    IPCKIT_WIN_ERROR(ERROR_INVALID_USER_BUFFER, kUvEFAULT),
};
#undef IPCKIT_WIN_ERROR

const Known* Find(int osCode) {
  for (const Known& known : kKnown) {
    if (known.code == static_cast<DWORD>(osCode)) return &known;
  }
  return nullptr;
}

}  // namespace

OsError LastOsError(const char* syscall, const std::string& path) { return OsError{static_cast<int>(GetLastError()), syscall, path}; }

// A Win32 code with no libuv name maps to a number getSystemErrorMap() does not know, so the
// error keeps the Win32 name (lib/errors.ts falls back on OsErrorName): -(0x20000000 | code)
// stays clear of libuv's range (-4095 to -3000) and of every CRT errno.
int ToUvErrno(int osCode) {
  const Known* known = Find(osCode);
  if (known != nullptr && known->uv != 0) return known->uv;
  return -(0x20000000 | (osCode & 0xffff));
}

std::string OsErrorName(int osCode) {
  const Known* known = Find(osCode);
  return known == nullptr ? "WIN32_" + std::to_string(osCode) : std::string(known->name);
}

std::string OsErrorDescription(int osCode) {
  wchar_t* text = nullptr;
  DWORD length = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
      static_cast<DWORD>(osCode), 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string result;
  if (length != 0 && text != nullptr) {
    int bytes = WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(length), nullptr, 0, nullptr, nullptr);
    result.resize(bytes > 0 ? bytes : 0);
    if (bytes > 0) WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(length), &result[0], bytes, nullptr, nullptr);
    while (!result.empty() && (result.back() == '\n' || result.back() == '\r' || result.back() == ' ' || result.back() == '.')) {
      result.pop_back();
    }
  }
  if (text != nullptr) LocalFree(text);
  return result.empty() ? "Win32 error " + std::to_string(osCode) : result;
}

namespace win {

// win32Errors(): the translation table, [{ osErrno, osCode, errno }] (errno 0: kept as osCode),
// so the Windows suite can check every libuv number here against the node.exe that runs it.
Napi::Value Win32Errors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array rows = Napi::Array::New(env);
  uint32_t i = 0;
  for (const Known& known : kKnown) {
    Napi::Object row = Napi::Object::New(env);
    row.Set("osErrno", Napi::Number::New(env, known.code));
    row.Set("osCode", Napi::String::New(env, known.name));
    row.Set("errno", Napi::Number::New(env, known.uv));
    rows.Set(i++, row);
  }
  return rows;
}

// systemErrorFor(osErrno, syscall, path): the error ipckit throws for that Win32 code.
Napi::Value SystemErrorFor(const Napi::CallbackInfo& info) {
  OsError error{info[0].As<Napi::Number>().Int32Value(), "CreateFileW", info[1].As<Napi::String>().Utf8Value()};
  return SystemError(info.Env(), error).Value();
}

}  // namespace win

}  // namespace ipckit
