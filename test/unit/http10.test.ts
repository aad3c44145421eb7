import { describe, expect, it } from "vitest";
import { parseResponse } from "../../src/docker/http10.js";

const r = (s: string) => parseResponse(Buffer.from(s, "latin1"));

describe("parseResponse", () => {
  it.each([
    ['HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"Id":"sha256:a"}', 200, '{"Id":"sha256:a"}'],
    [
      'HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\n{"message":"No such image"}\n',
      404,
      '{"message":"No such image"}\n',
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n",
      200,
      "abcdefg",
    ],
    ["HTTP/1.0 200 OK\r\n\r\n", 200, ""],
  ])("%j", (raw, status, body) => {
    expect(r(raw)).toEqual({ status, body });
  });
  it("rejects a truncated or foreign answer", () => {
    expect(() => r("HTTP/1.0 200 OK\r\nContent-Ty")).toThrow(/before a complete answer/);
    expect(() => r("SSH-2.0-OpenSSH\r\n\r\n")).toThrow(/not an HTTP answer/);
  });
});
