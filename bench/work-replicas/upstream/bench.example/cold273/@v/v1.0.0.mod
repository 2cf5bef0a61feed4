module bench.example/cold273

go 1.21
