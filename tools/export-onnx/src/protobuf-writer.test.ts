import { describe, expect, it } from "vitest";
import { ProtobufWriter, WireType } from "./protobuf-writer.js";

const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(" ");

function encoded(write: (writer: ProtobufWriter) => void): string {
  const writer = new ProtobufWriter();
  write(writer);
  return hex(writer.finish());
}

// Expected bytes are the worked examples of the protobuf encoding guide
// (protobuf.dev/programming-guides/encoding), where they exist.
describe("ProtobufWriter", () => {
  it("writes base-128 varints (guide: 1 → 01, 150 → 96 01)", () => {
    expect(encoded((writer) => writer.varint(1))).toBe("01");
    expect(encoded((writer) => writer.varint(150))).toBe("96 01");
    expect(encoded((writer) => writer.varint(0))).toBe("00");
  });

  it("writes negative int64 as 10-byte two's complement (guide: int32/int64 -1 takes ten bytes)", () => {
    expect(encoded((writer) => writer.varint(-1))).toBe("ff ff ff ff ff ff ff ff ff 01");
    expect(encoded((writer) => writer.varint(-2n))).toBe("fe ff ff ff ff ff ff ff ff 01");
  });

  it("writes values past 2^31 exactly (2^35 = 7 bits × 5 zero groups then 1)", () => {
    expect(encoded((writer) => writer.varint(2 ** 35))).toBe("80 80 80 80 80 01");
    expect(encoded((writer) => writer.varint(2n ** 63n - 1n))).toBe("ff ff ff ff ff ff ff ff 7f");
    expect(() => new ProtobufWriter().varint(2 ** 60)).toThrow(RangeError);
  });

  it("writes a varint field with its tag (guide: Test1 { a: 150 } → 08 96 01)", () => {
    expect(encoded((writer) => writer.int64Field(1, 150))).toBe("08 96 01");
    expect(encoded((writer) => writer.tag(2, WireType.LengthDelimited))).toBe("12");
  });

  it("writes strings length-delimited (guide: Test2 { b: \"testing\" } → 12 07 74 65 73 74 69 6e 67)", () => {
    expect(encoded((writer) => writer.stringField(2, "testing"))).toBe("12 07 74 65 73 74 69 6e 67");
  });

  it("writes nested messages (guide: Test3 { c: Test1 { a: 150 } } → 1a 03 08 96 01)", () => {
    expect(encoded((writer) => writer.messageField(3, (nested) => nested.int64Field(1, 150)))).toBe("1a 03 08 96 01");
  });

  it("writes packed repeated varints (guide: d = [3, 270, 86942] in field 4 → 22 06 03 8e 02 9e a7 05)", () => {
    expect(encoded((writer) => writer.packedInt64Field(4, [3, 270, 86942]))).toBe("22 06 03 8e 02 9e a7 05");
    expect(encoded((writer) => writer.packedInt64Field(4, []))).toBe("");
  });

  it("writes floats as little-endian fixed32 (1.5 = 0x3fc00000)", () => {
    expect(encoded((writer) => writer.floatField(1, 1.5))).toBe("0d 00 00 c0 3f");
    expect(encoded((writer) => writer.packedFloatField(7, [1.5, -2]))).toBe("3a 08 00 00 c0 3f 00 00 00 c0");
  });

  it("grows its buffer past the initial size without losing bytes", () => {
    const payload = Uint8Array.from({ length: 5000 }, (_, index) => index % 251);
    const writer = new ProtobufWriter();
    writer.bytesField(1, payload);
    const bytes = writer.finish();
    // tag 0a, length 5000 = varint 88 27, then the payload.
    expect(hex(bytes.subarray(0, 3))).toBe("0a 88 27");
    expect(bytes.length).toBe(5003);
    expect(bytes.subarray(3)).toEqual(payload);
  });
});
