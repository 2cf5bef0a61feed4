module bench.example/cold218

go 1.21
