package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"

	"jianfu/attach/attachtest"
)

// benchPlace is planted in the photo's metadata; the bench checks that no
// stored attachment holds it.
const benchPlace = "GPS-30.274084N-120.155070E"

// benchPhoto is the attachment of the photo intake: a real 320×240 JPEG
// (about 11 KB, a phone picture scaled down as many apps send it) with an
// EXIF block holding GPS coordinates and a description, and a JFIF APP0
// carrying text, so cleaning has work to do on every upload.
func benchPhoto() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	seed := uint32(2026)
	for y := range 240 {
		for x := range 320 {
			seed = seed*1664525 + 1013904223 // texture, so the encoding is not trivially small
			n := uint8(seed >> 28)
			img.Set(x, y, color.RGBA{uint8(x*3/4) + n, uint8(y) + n, uint8((x+y)/3) + n, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding into memory does not fail
	}
	plain := buf.Bytes()
	out := append([]byte{}, plain[:2]...) // SOI
	out = append(out, attachtest.Segment(0xE0, "JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00taken by "+benchPlace)...)
	out = append(out, attachtest.ExifGPS(benchPlace)...)
	return append(out, plain[2:]...)
}

// photoTip is the multipart body of a tip with the text of the JSON
// intake and benchPhoto attached, as the public form sends it, and its
// content type.
func photoTip(photo []byte) (body []byte, contentType string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range [][2]string{{"category", "digital"}, {"title", "重复填报数据"}, {"content", tipText}, {"anonymous", "true"}} {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("files", "IMG_20261127_101500.jpg")
	fw.Write(photo)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
