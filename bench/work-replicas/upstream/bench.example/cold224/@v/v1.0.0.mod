module bench.example/cold224

go 1.21
