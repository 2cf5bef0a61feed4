module bench.example/cold128

go 1.21
