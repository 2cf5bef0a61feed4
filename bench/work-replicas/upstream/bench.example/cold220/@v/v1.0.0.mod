module bench.example/cold220

go 1.21
