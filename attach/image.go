package attach

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
)

// Images are cleaned by allowlist: what a viewer needs to draw the picture
// in its colours is copied, everything else is dropped, whatever it is
// called. So a metadata block nobody has heard of yet (a vendor's private
// PNG chunk, text hidden in a JPEG APP0) does not slip through.

var errMalformed = errors.New("malformed image")

// jfifAPP0 is the APP0 segment every cleaned JPEG gets in place of the
// sender's: JFIF 1.01, no units, 1:1 pixel aspect, no thumbnail.
var jfifAPP0 = []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}

// jpegKeep reports whether a JPEG segment is kept as it is: frame headers
// (SOFn), Huffman and arithmetic tables (DHT, DAC), quantisation tables
// (DQT), restart interval (DRI), line count (DNL), scans (SOS), the ICC
// colour profile (APP2 "ICC_PROFILE") and Adobe's colour-transform flag
// (APP14 "Adobe", fixed length, needed for CMYK pictures).
func jpegKeep(marker byte, payload []byte) bool {
	switch {
	case marker >= 0xC0 && marker <= 0xCF && marker != 0xC8: // SOFn, DHT (C4), DAC (CC); C8 is reserved
		return true
	case marker == 0xDB, marker == 0xDD, marker == 0xDC, marker == 0xDA:
		return true
	case marker == 0xE2:
		return bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00"))
	case marker == 0xEE:
		return len(payload) == 12 && bytes.HasPrefix(payload, []byte("Adobe"))
	}
	return false
}

// jpegFrame checks a frame header (SOFn) as Go's own decoder would before
// it reads a scan: a baseline or progressive Huffman frame (SOF0-SOF2; it
// reads no lossless, hierarchical or arithmetic-coded one), 8-bit samples,
// one, three or four components, a picture of at least one pixel and a
// length that matches the components.
func jpegFrame(marker byte, payload []byte) bool {
	if marker > 0xC2 || len(payload) < 6 {
		return false
	}
	h, w, nc := binary.BigEndian.Uint16(payload[1:]), binary.BigEndian.Uint16(payload[3:]), int(payload[5])
	return payload[0] == 8 && h > 0 && w > 0 && (nc == 1 || nc == 3 || nc == 4) && len(payload) == 6+3*nc
}

// CleanJPEG rebuilds a JPEG from the segments jpegKeep allows, with a
// fresh minimal APP0 in place of the sender's JFIF APP0 (JFIF thumbnails and text,
// JFXX extensions), and keeps the entropy-coded image data byte for byte.
// It walks the marker structure through the scans too, so a progressive
// JPEG's tables between scans are kept and its metadata between scans is
// not; anything after EOI is dropped. The picture must have one frame
// header that jpegFrame accepts, before its first scan: so a file that
// merely starts with a JPEG's magic bytes is refused.
func CleanJPEG(data []byte) ([]byte, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, errMalformed
	}
	out := make([]byte, 0, len(data)+len(jfifAPP0))
	out = append(out, 0xFF, 0xD8)
	jfif, frame := false, false
	i := 2
	for i < len(data) {
		if data[i] != 0xFF {
			return nil, errMalformed
		}
		// Fill bytes: any number of 0xFF before a marker.
		for i < len(data) && data[i] == 0xFF {
			i++
		}
		if i >= len(data) {
			return nil, errMalformed
		}
		marker := data[i]
		i++
		switch {
		case marker == 0xD9: // EOI
			if !frame {
				return nil, errMalformed
			}
			out = append(out, 0xFF, 0xD9)
			if jfif {
				out = slices.Insert(out, 2, jfifAPP0...) // in place: out was made with room for it
			}
			return out, nil
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0xD8: // no length
			if marker >= 0xD0 && marker <= 0xD7 {
				out = append(out, 0xFF, marker)
			}
			continue
		}
		if i+2 > len(data) {
			return nil, errMalformed
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return nil, errMalformed
		}
		seg := data[i : i+n]
		i += n
		switch {
		case marker == 0xE0 && bytes.HasPrefix(seg[2:], []byte("JFIF\x00")):
			jfif = true // replaced by jfifAPP0
		case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC: // SOFn
			if frame || !jpegFrame(marker, seg[2:]) {
				return nil, errMalformed
			}
			frame = true
		case marker == 0xDA && !frame: // a scan before the frame header
			return nil, errMalformed
		}
		if jpegKeep(marker, seg[2:]) {
			out = append(out, 0xFF, marker)
			out = append(out, seg...)
		}
		if marker != 0xDA { // not SOS: the next marker follows directly
			continue
		}
		// Entropy-coded data runs until a marker other than a stuffed
		// 0xFF00 or a restart marker.
		start := i
		for i < len(data) {
			if data[i] == 0xFF && i+1 < len(data) {
				next := data[i+1]
				if next == 0x00 || (next >= 0xD0 && next <= 0xD7) {
					i += 2
					continue
				}
				break // a marker (possibly after fill bytes)
			}
			i++
		}
		out = append(out, data[start:i]...)
	}
	return nil, errMalformed // no EOI
}

// pngKeep lists the PNG chunks a cleaned PNG keeps: the critical ones and
// those that say how to show the colours. Text (tEXt, zTXt, iTXt), EXIF,
// time, suggested palettes (named), animation and every private or unknown
// chunk are dropped.
var pngKeep = map[string]bool{"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true, "tRNS": true,
	"cHRM": true, "gAMA": true, "iCCP": true, "sBIT": true, "sRGB": true, "cICP": true, "bKGD": true,
	"pHYs": true, "hIST": true}

// CleanPNG copies a PNG chunk by chunk, keeping only pngKeep; the ICC
// profile's free-text name is replaced. Anything after IEND is dropped.
func CleanPNG(data []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(data, []byte(sig)) {
		return nil, errMalformed
	}
	out := make([]byte, 0, len(data))
	out = append(out, sig...)
	i := len(sig)
	for i+12 <= len(data) {
		n := binary.BigEndian.Uint32(data[i:])
		if n > 1<<31-1 || uint64(i)+12+uint64(n) > uint64(len(data)) {
			return nil, errMalformed
		}
		typ := string(data[i+4 : i+8])
		end := i + 12 + int(n)
		switch {
		case typ == "iCCP":
			body := data[i+8 : end-4]
			z := bytes.IndexByte(body, 0)
			if z < 0 {
				return nil, errMalformed
			}
			out = appendPNGChunk(out, typ, append([]byte("ICC profile"), body[z:]...))
		case pngKeep[typ]:
			out = append(out, data[i:end]...)
		}
		i = end
		if typ == "IEND" {
			return out, nil
		}
	}
	return nil, errMalformed
}

func appendPNGChunk(out []byte, typ string, body []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, typ...)
	out = append(out, body...)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(body)
	return binary.BigEndian.AppendUint32(out, crc.Sum32())
}
