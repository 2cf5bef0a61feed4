module bench.example/cold64

go 1.21
