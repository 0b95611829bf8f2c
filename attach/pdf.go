package attach

import (
	"bytes"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// PDFs are read and written again with pdfcpu (a maintained PDF library;
// no hand parsing of a hostile format here). On the way the document
// Information dictionary (Author, Creator, Producer, Title, dates) and
// every XMP metadata stream (/Metadata of the catalog, pages, images and
// fonts) and page-piece data (/PieceInfo) are removed; what is no longer
// referenced is not written. pdfcpu then writes a fresh Info dictionary
// naming only itself and the time of cleaning, and a new file ID.

// pdfLimits bounds what pdfcpu may decode of one upload.
var pdfLimits = func() model.ResourceLimits {
	l := model.DefaultResourceLimits()
	l.MaxStreamBytes = 64 << 20
	l.MaxDecodeBytes = MaxExpanded
	l.MaxImageBytes = MaxExpanded
	return l
}()

var disablePDFConfig sync.Once

// CleanPDF returns data without its Info dictionary and XMP metadata.
func CleanPDF(data []byte) ([]byte, error) {
	// pdfcpu would otherwise create a configuration directory under the
	// user's home on first use.
	disablePDFConfig.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Limits = pdfLimits
	ctx, err := api.ReadAndValidate(bytes.NewReader(data), conf)
	if err != nil {
		return nil, err
	}
	ctx.Info = nil
	ctx.ID = nil
	for _, e := range ctx.Table {
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		switch o := e.Object.(type) {
		case types.Dict:
			o.Delete("Metadata")
			o.Delete("PieceInfo")
		case types.StreamDict:
			o.Delete("Metadata")
			o.Delete("PieceInfo")
		}
	}
	if err := api.OptimizeContext(ctx); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := api.WriteContext(ctx, &out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
