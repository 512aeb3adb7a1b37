// Package reliability holds the tests that hold bulwark's policies to the
// promises they share, across packages: a panic in the protected call
// leaves every policy as the outcome table says and reaches the caller
// unchanged (the panic matrix); every constructor and numeric option
// rejects what it cannot honour at construction and works with what it
// accepts (the option audit, and fuzz targets over random option sets).
// It has no code of its own: everything is in its tests.
package reliability
