package api

// CheckFile exposes checkFile to the black-box tests.
var CheckFile = checkFile

// HTTPStatus lets the black-box tests read an error's status.
func (e *apiError) HTTPStatus() int { return e.Status }
