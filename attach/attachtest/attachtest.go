// Package attachtest builds files with identifying metadata planted in
// them, for the tests and the bench that check upload cleaning removes it
// (DESIGN §10.1).
package attachtest

import (
	"bytes"
	"encoding/binary"
)

// Segment is a JPEG marker segment: marker, length, payload.
func Segment(marker byte, payload string) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// ExifGPS is an APP1 EXIF segment: IFD0 with an ImageDescription holding
// place and a pointer to a GPS IFD holding latitude and longitude.
func ExifGPS(place string) []byte {
	var t bytes.Buffer
	le := binary.LittleEndian
	w16 := func(v uint16) { binary.Write(&t, le, v) }
	w32 := func(v uint32) { binary.Write(&t, le, v) }
	desc := place + "\x00"
	t.WriteString("II*\x00")
	w32(8)
	gpsIFD := 8 + 2 + 2*12 + 4
	gpsData := gpsIFD + 2 + 4*12 + 4
	descAt := gpsData + 48
	w16(2)
	w16(0x010E) // ImageDescription
	w16(2)
	w32(uint32(len(desc)))
	w32(uint32(descAt))
	w16(0x8825) // GPSInfo
	w16(4)
	w32(1)
	w32(uint32(gpsIFD))
	w32(0)
	w16(4)
	for _, e := range []struct {
		tag, typ uint16
		count    uint32
		value    []byte
	}{
		{1, 2, 2, []byte("N\x00\x00\x00")},                  // GPSLatitudeRef
		{2, 5, 3, le.AppendUint32(nil, uint32(gpsData))},    // GPSLatitude
		{3, 2, 2, []byte("E\x00\x00\x00")},                  // GPSLongitudeRef
		{4, 5, 3, le.AppendUint32(nil, uint32(gpsData+24))}, // GPSLongitude
	} {
		w16(e.tag)
		w16(e.typ)
		w32(e.count)
		t.Write(e.value)
	}
	w32(0)
	for _, r := range [][2]uint32{{30, 1}, {16, 1}, {2670, 100}, {120, 1}, {9, 1}, {1825, 100}} {
		w32(r[0])
		w32(r[1])
	}
	t.WriteString(desc)
	return Segment(0xE1, "Exif\x00\x00"+t.String())
}
