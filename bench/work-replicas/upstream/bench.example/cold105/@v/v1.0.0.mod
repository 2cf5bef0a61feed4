module bench.example/cold105

go 1.21
