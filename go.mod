module github.com/personium-go/personium

go 1.26
