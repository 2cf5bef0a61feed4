module bench.example/cold241

go 1.21
